/**
 * Special functions behind the significance tests: erfc (→ χ² survival with one degree of freedom) and
 * the Binomial(n, ½) lower tail (→ exact McNemar). Plain doubles, no allocation, no dependencies.
 */

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631–638,
// coefficients as in Netlib specfun CALERF (public domain), written here as the doubles their 18-digit
// values round to. Near-minimax to ≥ 18 significant digits, so the result is within a few ulps.
const [A0, A1, A2, A3, A4] = [
  3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694, 0.18577770618460315,
] as const;
const [B0, B1, B2, B3] = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171] as const;
const [C0, C1, C2, C3, C4, C5, C6, C7, C8] = [
  0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769, 1712.0476126340707,
  2051.0783778260716, 1230.3393547979972, 2.1531153547440383e-8,
] as const;
const [D0, D1, D2, D3, D4, D5, D6, D7] = [
  15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597, 4362.619090143247,
  3439.3676741437216, 1230.3393548037495,
] as const;
const [P0, P1, P2, P3, P4, P5] = [
  0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 0.0006587491615298378,
  0.016315387137302097,
] as const;
const [Q0, Q1, Q2, Q3, Q4] = [
  2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918,
] as const;

const ONE_OVER_SQRT_PI = 0.5641895835477563;
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
// mpmath at 40 digits, rounded to doubles (the asymptotic series below is not yet accurate there).
// Index 0 is unused.
const STIRLERR_SMALL = [
  0, 0.08106146679532726, 0.0413406959554093, 0.02767792568499834, 0.020790672103765093, 0.016644691189821193,
  0.013876128823070748, 0.01189670994589177, 0.010411265261972096, 0.009255462182712733, 0.00833056343336287,
  0.007573675487951841, 0.00694284010720953, 0.006408994188004207, 0.0059513701127588475, 0.005554733551962801,
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

/** Up to here C(n, i)·(n − i) < 2⁵³ for every i, so binomial coefficients can be summed exactly. */
const EXACT_SUM_MAX_N = 50;

/**
 * P(X ≤ k) for X ~ Binomial(n, ½), integers n ≥ 0. Exact integer sums for n ≤ 50; beyond, it sums from the
 * largest term outwards (the pmf rises towards n/2) scaled by the log-space pmf, so it neither overflows
 * nor underflows early, and costs O(√n) terms rather than O(n). Relative error ~1e−13 up to n = 10⁵.
 */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (n <= EXACT_SUM_MAX_N) {
    // Binomial coefficients and their running products stay below 2⁵³, and dividing by 2ⁿ is exact, so
    // this is the correctly rounded value (20/512 comes out as 0.0390625, not 0.03906250000000003).
    let coefficient = 1;
    let sum = 1;
    for (let i = 0; i < k; i++) {
      coefficient = (coefficient * (n - i)) / (i + 1);
      sum += coefficient;
    }
    return sum / 2 ** n;
  }
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
