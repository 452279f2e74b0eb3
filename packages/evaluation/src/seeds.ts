/**
 * Statistics across seed replicates: a t-interval of a mean, the paired t-test of two variants run
 * with the same seeds, and the exact sign and Wilcoxon signed-rank tests that go with it. The
 * Student's t and signed-rank distributions come from stdlib-js (`@stdlib/stats-base-dists-*`:
 * maintained, typed, Boost-accurate), the binomial tail from `special.ts` (as McNemar's exact test).
 */
import signrankCdf from '@stdlib/stats-base-dists-signrank-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { binomialHalfCdf } from './special.js';

/** A mean and its two-sided t-interval; `lower`/`upper`/`sd` are null with fewer than two values. */
export interface MeanInterval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator). */
  sd: number | null;
  lower: number | null;
  upper: number | null;
  confidence: number;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function sampleSd(xs: readonly number[], m: number): number {
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * The mean of `xs` with its Student-t interval: mean ± t(1 − (1 − confidence)/2, n − 1)·sd/√n.
 * One value has no spread to estimate: the interval is null (not a zero-width interval). Throws on
 * an empty list.
 */
export function tInterval(xs: readonly number[], confidence = 0.95): MeanInterval {
  if (xs.length === 0) throw new RangeError('tInterval needs at least one value');
  const m = mean(xs);
  if (xs.length < 2) return { n: xs.length, mean: m, sd: null, lower: null, upper: null, confidence };
  const sd = sampleSd(xs, m);
  const half = tQuantile(1 - (1 - confidence) / 2, xs.length - 1) * (sd / Math.sqrt(xs.length));
  return { n: xs.length, mean: m, sd, lower: m - half, upper: m + half, confidence };
}

/** The paired t-test of a − b (scipy `ttest_rel`), with the t-interval of the mean difference. */
export interface PairedTTest extends MeanInterval {
  /** null with fewer than two pairs. */
  statistic: number | null;
  /** Two-sided; null with fewer than two pairs. */
  pValue: number | null;
  df: number;
}

/**
 * Paired t-test of `a[i] − b[i]`. Equal differences (sd 0) give p = 0 when they are not zero and
 * p = 1 when they are: the data leave no doubt either way.
 */
export function pairedTTest(a: readonly number[], b: readonly number[], confidence = 0.95): PairedTTest {
  if (a.length !== b.length) throw new RangeError(`pairedTTest needs equal lengths, got ${a.length} and ${b.length}`);
  const d = a.map((x, i) => x - b[i]!);
  const interval = tInterval(d, confidence);
  const df = d.length - 1;
  if (interval.sd === null) return { ...interval, statistic: null, pValue: null, df };
  if (interval.sd === 0) {
    const statistic = interval.mean === 0 ? 0 : Math.sign(interval.mean) * Infinity;
    return { ...interval, statistic, pValue: interval.mean === 0 ? 1 : 0, df };
  }
  const statistic = interval.mean / (interval.sd / Math.sqrt(d.length));
  return { ...interval, statistic, pValue: Math.min(1, 2 * tCdf(-Math.abs(statistic), df)), df };
}

/** Two-sided exact sign test of paired differences (zeros dropped), as scipy `binomtest(k, n, 0.5)`. */
export function signTest(differences: readonly number[]): { positive: number; negative: number; pValue: number } {
  const positive = differences.filter((x) => x > 0).length;
  const negative = differences.filter((x) => x < 0).length;
  const n = positive + negative;
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(positive, negative), n));
  return { positive, negative, pValue };
}

/**
 * Two-sided exact Wilcoxon signed-rank test of paired differences (zeros dropped, ties in |d| get
 * their average rank), as scipy `wilcoxon(d, method='exact')` for untied differences: p =
 * 2·P(W ≤ min(W+, W−)), capped at 1. null without a non-zero difference.
 */
export function wilcoxonSignedRank(differences: readonly number[]): { statistic: number; pValue: number } | null {
  const d = differences.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return null;
  const order = d.map((x, i) => ({ abs: Math.abs(x), i })).sort((p, q) => p.abs - q.abs);
  const ranks = new Array<number>(n);
  for (let lo = 0; lo < n;) {
    let hi = lo;
    while (hi + 1 < n && order[hi + 1]!.abs === order[lo]!.abs) hi++;
    for (let k = lo; k <= hi; k++) ranks[order[k]!.i] = (lo + hi) / 2 + 1;
    lo = hi + 1;
  }
  const plus = d.reduce((s, x, i) => s + (x > 0 ? ranks[i]! : 0), 0);
  const minus = (n * (n + 1)) / 2 - plus;
  const statistic = Math.min(plus, minus);
  return { statistic, pValue: Math.min(1, 2 * signrankCdf(Math.floor(statistic), n)) };
}

/**
 * The smallest two-sided p-value an exact sign or signed-rank test can give with n pairs: 2/2ⁿ (every
 * difference on one side). Above alpha, those tests cannot find a difference whatever the data.
 */
export function smallestRankTestP(n: number): number {
  return Math.min(1, 2 / 2 ** n);
}
