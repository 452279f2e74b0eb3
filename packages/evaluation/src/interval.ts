/** A proportion with its confidence interval. */
export interface ProportionInterval {
  /** successes / n. */
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * Wilson score interval for a proportion, e.g. an accuracy of `successes` correct out of `n` test images:
 *
 *   (n·p̂ + z²/2 ± z·√(n·p̂(1 − p̂) + z²/4)) / (n + z²)
 *
 * Unlike the normal (Wald) interval it stays inside [0, 1] and keeps near-nominal coverage for accuracies
 * close to 0 or 1 and for small n (Brown, Cai & DasGupta 2001). The bounds are exactly 0 at 0 successes and
 * exactly 1 at n successes.
 *
 * @param successes integer in 0..n
 * @param n number of trials, a positive integer
 * @param z normal quantile; 1.96 (default) for a two-sided 95% interval, 2.576 for 99%
 * @throws RangeError if `n` is not a positive integer, `successes` is not an integer in 0..n, or `z` is not
 *   a positive finite number.
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): ProportionInterval {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`successes must be an integer in 0..${n}, got ${successes}`);
  }
  if (!(Number.isFinite(z) && z > 0)) throw new RangeError(`z must be a positive finite number, got ${z}`);
  const estimate = successes / n;
  const z2 = z * z;
  const center = successes + z2 / 2;
  const half = z * Math.sqrt((successes * (n - successes)) / n + z2 / 4);
  const denominator = n + z2;
  return {
    estimate,
    lower: successes === 0 ? 0 : Math.max(0, (center - half) / denominator),
    upper: successes === n ? 1 : Math.min(1, (center + half) / denominator),
  };
}
