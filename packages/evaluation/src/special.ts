/**
 * Special functions behind the significance tests: erfc (→ χ² survival with one degree of freedom) and
 * the Binomial(n, ½) lower tail (→ exact McNemar). Plain doubles, no allocation, no dependencies.
 */

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631–638,
// coefficients as in Netlib specfun CALERF (public domain). Near-minimax to ≥ 18 significant digits, so the
// double result is within a few ulps over the whole range.
const [A0, A1, A2, A3, A4] = [
  3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153,
] as const;
const [B0, B1, B2, B3] = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062] as const;
const [C0, C1, C2, C3, C4, C5, C6, C7, C8] = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
] as const;
const [D0, D1, D2, D3, D4, D5, D6, D7] = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
] as const;
const [P0, P1, P2, P3, P4, P5] = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4,
  0.0163153871373020978,
] as const;
const [Q0, Q1, Q2, Q3, Q4] = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185,
] as const;

const ONE_OVER_SQRT_PI = 0.56418958354775628695;
/** From here on erfc(x) underflows to 0 in doubles. */
const ERFC_UNDERFLOW = 26.543;

/**
 * exp(−y²) computed as exp(−ỹ²)·exp(−(y−ỹ)(y+ỹ)) with ỹ = y truncated to 1/16: forming y² directly would
 * lose the low bits that matter once y² is large (Cody's trick).
 */
function expMinusSquare(y: number): number {
  const head = Math.trunc(y * 16) / 16;
  return Math.exp(-head * head) * Math.exp(-(y - head) * (y + head));
}

/**
 * The complementary error function erfc(x) = 1 − erf(x) = (2/√π)∫ₓ^∞ e^(−t²) dt, to about 1e−15 relative
 * over the whole double range (W. J. Cody's rational Chebyshev approximations).
 * erfc(−x) = 2 − erfc(x); erfc(x) = 0 for x ≥ 26.543 (underflow); NaN in, NaN out.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.46875) {
    // erf(x) = x·A(x²)/B(x²); 1 − erf cannot cancel badly because |erf(x)| < 0.5 here.
    const z = y * y;
    const num = (((A4 * z + A0) * z + A1) * z + A2) * z + A3;
    const den = (((z + B0) * z + B1) * z + B2) * z + B3;
    return 1 - (x * num) / den;
  }
  let tail: number;
  if (y >= ERFC_UNDERFLOW) {
    tail = 0;
  } else if (y <= 4) {
    // erfc(y) = exp(−y²)·C(y)/D(y)
    const num = (((((((C8 * y + C0) * y + C1) * y + C2) * y + C3) * y + C4) * y + C5) * y + C6) * y + C7;
    const den = (((((((y + D0) * y + D1) * y + D2) * y + D3) * y + D4) * y + D5) * y + D6) * y + D7;
    tail = (num / den) * expMinusSquare(y);
  } else {
    // erfc(y) = exp(−y²)/y · (1/√π − z·P(z)/Q(z)), z = 1/y²
    const z = 1 / (y * y);
    const num = z * (((((P5 * z + P0) * z + P1) * z + P2) * z + P3) * z + P4);
    const den = ((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4;
    tail = ((ONE_OVER_SQRT_PI - num / den) / y) * expMinusSquare(y);
  }
  return x < 0 ? 2 - tail : tail;
}

/**
 * Survival function of the χ² distribution with one degree of freedom, P(X ≥ x) = erfc(√(x/2)).
 * x ≤ 0 gives 1.
 */
export function chiSquareSurvivalDf1(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

// stirlerr(n) = ln n! − [(n + ½)ln n − n + ln√(2π)], the error of Stirling's formula, for n = 1..15 from
// mpmath at 40 digits (the asymptotic series below is not yet accurate there). Index 0 is unused.
const STIRLERR_SMALL = [
  0, 0.08106146679532725822, 0.04134069595540929409, 0.02767792568499833915, 0.02079067210376509311,
  0.01664469118982119216, 0.01387612882307074800, 0.0118967099458917701, 0.0104112652619720965,
  0.009255462182712732918, 0.008330563433362871256, 0.007573675487951840795, 0.006942840107209529866,
  0.006408994188004207068, 0.005951370112758847736, 0.005554733551962801371,
];

/** stirlerr(n) for integer n ≥ 1 (C. Loader, "Fast and accurate computation of binomial probabilities", 2000). */
function stirlerr(n: number): number {
  if (n <= 15) return STIRLERR_SMALL[n] ?? Number.NaN;
  const nn = n * n;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/**
 * bd0(x, m) = x·ln(x/m) + m − x, the deviance term, without the cancellation that the direct formula
 * suffers when x ≈ m (Loader 2000).
 */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    const v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v * v;
      const next = s + ej / (2 * j + 1);
      if (next === s) return next;
      s = next;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/**
 * ln P(X = x) for X ~ Binomial(n, ½), integers 0 ≤ x ≤ n, by Loader's saddle-point expansion: relative
 * accuracy near machine precision for any n, where lgamma differences lose digits to cancellation.
 */
export function logBinomialHalfPmf(x: number, n: number): number {
  if (x < 0 || x > n) return Number.NEGATIVE_INFINITY;
  if (x === 0 || x === n) return -n * Math.LN2;
  const m = n / 2;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, m) - bd0(n - x, m);
  const lf = Math.log(2 * Math.PI) + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/**
 * P(X ≤ k) for X ~ Binomial(n, ½), integers n ≥ 0. Works from the largest term outwards (the pmf rises
 * towards n/2), so it neither underflows early nor overflows, and costs O(√n) terms, not O(n).
 */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  // Symmetry P(X ≤ k) = 1 − P(X ≤ n − k − 1) keeps the summed tail on the rising side of the pmf.
  if (2 * k > n) return 1 - binomialHalfCdf(n - k - 1, n);
  let term = 1;
  let sum = 1;
  for (let i = k; i > 0; i--) {
    // P(X = i − 1) / P(X = i) = i / (n − i + 1)
    term *= i / (n - i + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.exp(logBinomialHalfPmf(k, n)) * sum;
}
