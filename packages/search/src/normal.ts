/**
 * The standard normal distribution's tails in log space, and the truncated normal built on them —
 * what the Parzen estimators need (Optuna 3.1 `samplers/_tpe/_truncnorm.py`, itself after SciPy).
 * `erf`/`erfc` are FreeBSD's `s_erf.c` (Sun Microsystems, freely redistributable): JavaScript has
 * no `Math.erf`, and the tails must stay accurate to ~1e-16 relative, which the usual 1e-7
 * approximations do not.
 */

const ERX = 8.45062911510467529297e-1;
const EFX = 1.28379167095512586316e-1;
const PP = [
  1.28379167095512558561e-1, -3.2504210724700149937e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3,
  -2.37630166566501626084e-5,
];
const QQ = [
  3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4,
  -3.9602282787753681232e-6,
];
const PA = [
  -2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1,
  -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.166375594868790843e-3,
];
const QA = [
  1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1,
  1.36370839120290507362e-2, 1.1984499846799107417e-2,
];
const RA = [
  -9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1,
  -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592,
];
const SA = [
  1.96512716674392571292e1, 1.376577541435190426e2, 4.34565877475229228821e2, 6.45387271733267880336e2,
  4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2,
];
const RB = [
  -9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2,
  -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2,
];
const SB = [
  3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3,
  2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1,
];

/** c[0] + z·c[1] + z²·c[2] + … */
function poly(c: readonly number[], z: number): number {
  let r = 0;
  for (let i = c.length - 1; i >= 0; i--) r = r * z + c[i]!;
  return r;
}

/** 1 + z·c[0] + z²·c[1] + … */
function poly1(c: readonly number[], z: number): number {
  return 1 + z * poly(c, z);
}

const view = new DataView(new ArrayBuffer(8));

/** erfc(x) for x ≥ 1.25: the tail computed directly, without the cancellation of 1 − erf(x). */
function erfcTail(x: number): number {
  if (x >= 28) return 0;
  const s = 1 / (x * x);
  const rs = x < 1 / 0.35 ? poly(RA, s) / poly1(SA, s) : poly(RB, s) / poly1(SB, s);
  // s_erf.c splits x into z (low word cleared) + rest for exp(-x²) accuracy; Float64 has no
  // SET_LOW_WORD, so clear the low 32 bits through a DataView.
  view.setFloat64(0, x);
  view.setUint32(4, 0);
  const z = view.getFloat64(0);
  return (Math.exp(-z * z - 0.5625) * Math.exp((z - x) * (z + x) + rs)) / x;
}

/** The error function. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 0.84375) {
    if (a < 2 ** -28) return x + EFX * x;
    const z = x * x;
    return x + x * (poly(PP, z) / poly1(QQ, z));
  }
  if (a < 1.25) {
    const s = a - 1;
    const v = ERX + poly(PA, s) / poly1(QA, s);
    return x >= 0 ? v : -v;
  }
  if (a >= 6) return Math.sign(x);
  const v = 1 - erfcTail(a);
  return x >= 0 ? v : -v;
}

/** The complementary error function 1 − erf(x), accurate in the right tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 0.84375) return 1 - erf(x);
  if (a < 1.25) {
    const s = a - 1;
    const v = ERX + poly(PA, s) / poly1(QA, s);
    return x >= 0 ? 1 - ERX - poly(PA, s) / poly1(QA, s) : 1 + v;
  }
  return x > 0 ? erfcTail(a) : 2 - erfcTail(a);
}

/** Φ(a), the standard normal CDF (Optuna `_ndtr_single`). */
export function ndtr(a: number): number {
  const x = a / Math.SQRT2;
  if (x < -Math.SQRT1_2) return 0.5 * erfc(-x);
  if (x < Math.SQRT1_2) return 0.5 + 0.5 * erf(x);
  return 1 - 0.5 * erfc(x);
}

/** log Φ(a), with an asymptotic series far in the left tail (Optuna `_log_ndtr_single`). */
export function logNdtr(a: number): number {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return Math.log(ndtr(a));
  const logLhs = -0.5 * a * a - Math.log(-a) - 0.5 * Math.log(2 * Math.PI);
  let last = 0;
  let rhs = 1;
  let numerator = 1;
  let denomFactor = 1;
  const denomCons = 1 / (a * a);
  let sign = 1;
  for (let i = 1; Math.abs(last - rhs) > Number.EPSILON; i++) {
    last = rhs;
    sign = -sign;
    denomFactor *= denomCons;
    numerator *= 2 * i - 1;
    rhs += sign * numerator * denomFactor;
  }
  return logLhs + Math.log(rhs);
}

function logSum(p: number, q: number): number {
  const m = Math.max(p, q);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(Math.exp(p - m) + Math.exp(q - m));
}

function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p));
}

/** log of the standard normal mass in [a, b] (Optuna `_log_gauss_mass`). */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log pdf of N(loc, scale²) truncated to [loc + a·scale, loc + b·scale] at x (Optuna `truncnorm.logpdf`). */
export function truncnormLogPdf(x: number, a: number, b: number, loc: number, scale: number): number {
  const z = (x - loc) / scale;
  if (a === b) return NaN;
  if (z < a || z > b) return -Infinity;
  return -(z * z) / 2 - LOG_SQRT_2PI - logGaussMass(a, b);
}

/** Inverse of logNdtr by bisection on [-100, 100], 100 halvings (Optuna `_ndtri_exp_single`). */
function ndtriExp(y: number): number {
  let lo = -100;
  let hi = 100;
  let m = 0;
  for (let i = 0; i < 100; i++) {
    m = (lo + hi) / 2;
    if (logNdtr(m) < y) lo = m;
    else hi = m;
  }
  return m;
}

/** The q-quantile of the standard normal truncated to [a, b] (Optuna `truncnorm.ppf`). */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (a === b) return NaN;
  if (q === 0) return a;
  if (q === 1) return b;
  if (a < 0) return ndtriExp(logSum(logNdtr(a), Math.log(q) + logGaussMass(a, b)));
  return -ndtriExp(logSum(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b)));
}
