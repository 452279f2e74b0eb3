import { binomialHalfCdf, chiSquareSurvivalDf1 } from './special.js';

/** When to use the exact binomial test rather than the χ² approximation. */
export interface McNemarOptions {
  /**
   * `'auto'` (default): exact when the discordant pairs b + c < 25, χ² with continuity correction otherwise.
   * `true`: always exact (statsmodels `mcnemar(exact=True)`). `false`: always χ² (`exact=False, correction=True`).
   */
  exact?: 'auto' | boolean;
}

/** McNemar's test of two classifiers on the same samples. Index digits: 1 = right, 0 = wrong; first A, then B. */
export interface McNemarResult {
  /** Samples A got right and B got wrong (= n10). */
  b: number;
  /** Samples A got wrong and B got right (= n01). */
  c: number;
  /** Both wrong. */
  n00: number;
  /** A wrong, B right (= c). */
  n01: number;
  /** A right, B wrong (= b). */
  n10: number;
  /** Both right. */
  n11: number;
  /** min(b, c) for the exact test (as statsmodels reports it); (max(|b − c| − 1, 0))² / (b + c) for χ². */
  statistic: number;
  /** Two-sided p-value of H0 "A and B have the same error rate". */
  pValue: number;
  method: 'exact' | 'chi2-cc';
  /** Fraction of samples A got right. */
  accuracyA: number;
  /** Fraction of samples B got right. */
  accuracyB: number;
  /** accuracyA − accuracyB = (b − c) / n. */
  delta: number;
}

/** Discordant pairs below this use the exact test under `exact: 'auto'` (the usual rule of thumb). */
const EXACT_BELOW = 25;

function checkSameLength(labels: ArrayLike<number>, predictions: ArrayLike<number>, name: string): void {
  if (predictions.length !== labels.length) {
    throw new RangeError(
      `${name} has ${predictions.length} predictions but there are ${labels.length} labels; ` +
        'McNemar compares predictions on the same samples',
    );
  }
}

/** 1 where the prediction equals the label, else 0. */
function correctness(labels: ArrayLike<number>, predictions: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === predictions[i] ? 1 : 0;
  return out;
}

function testFromCorrectness(a: Uint8Array, b: Uint8Array, exact: 'auto' | boolean): McNemarResult {
  const n = a.length;
  let n11 = 0;
  let n10 = 0;
  let n01 = 0;
  for (let i = 0; i < n; i++) {
    const ai = a[i]!;
    const bi = b[i]!;
    if (ai === 1) {
      if (bi === 1) n11 += 1;
      else n10 += 1;
    } else if (bi === 1) {
      n01 += 1;
    }
  }
  const n00 = n - n11 - n10 - n01;
  const discordant = n10 + n01;
  const useExact = exact === true || (exact === 'auto' && discordant < EXACT_BELOW);
  let statistic: number;
  let pValue: number;
  if (useExact) {
    // Under H0 each discordant pair goes either way with probability ½: b ~ Binomial(b + c, ½).
    statistic = Math.min(n10, n01);
    pValue = Math.min(1, 2 * binomialHalfCdf(statistic, discordant));
  } else if (discordant === 0) {
    statistic = 0;
    pValue = 1;
  } else {
    // Edwards' continuity correction. Clamped at 0 so that b = c gives χ² = 0 and p = 1; statsmodels and R
    // compute (|b − c| − 1)² = 1 there, a p slightly below 1 for what is no difference at all.
    const corrected = Math.max(Math.abs(n10 - n01) - 1, 0);
    statistic = (corrected * corrected) / discordant;
    pValue = chiSquareSurvivalDf1(statistic);
  }
  const accuracyA = (n11 + n10) / n;
  const accuracyB = (n11 + n01) / n;
  return {
    b: n10,
    c: n01,
    n00,
    n01,
    n10,
    n11,
    statistic,
    pValue,
    method: useExact ? 'exact' : 'chi2-cc',
    accuracyA,
    accuracyB,
    delta: (n10 - n01) / n,
  };
}

/**
 * McNemar's test: do classifiers A and B, evaluated on the same samples, differ in error rate? Only the
 * discordant samples count: b (A right, B wrong) and c (A wrong, B right).
 *
 * - Exact (b + c < 25 under `'auto'`, or `exact: true`): two-sided binomial test, p = min(1, 2·P(X ≤ min(b, c)))
 *   with X ~ Binomial(b + c, ½), as statsmodels `mcnemar(table, exact=True)`. Stable for b + c in the
 *   hundreds of thousands (log-space pmf, see `binomialHalfCdf`).
 * - Otherwise χ² with Edwards' continuity correction, (|b − c| − 1)² / (b + c) on 1 degree of freedom,
 *   p = erfc(√(χ²/2)) (statsmodels `exact=False, correction=True`), except that |b − c| − 1 is clamped at 0.
 *
 * Identical predictions give b = c = 0 and p = 1.
 *
 * @param labels true labels of the shared test split
 * @param predA predictions of A, same order and length
 * @param predB predictions of B, same order and length
 * @throws RangeError if the lengths differ or there are no samples.
 */
export function mcnemar(
  labels: ArrayLike<number>,
  predA: ArrayLike<number>,
  predB: ArrayLike<number>,
  options: McNemarOptions = {},
): McNemarResult {
  checkSameLength(labels, predA, 'predA');
  checkSameLength(labels, predB, 'predB');
  if (labels.length === 0) throw new RangeError('McNemar needs at least one sample; labels is empty');
  return testFromCorrectness(correctness(labels, predA), correctness(labels, predB), options.exact ?? 'auto');
}

/**
 * Holm–Bonferroni step-down adjustment: with p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted
 * p₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1)·p₍ⱼ₎). Rejecting where adjusted ≤ α controls the family-wise error
 * rate at α for any dependence between the tests (statsmodels `multipletests(method='holm')`).
 *
 * @returns adjusted p-values in the order given
 * @throws RangeError if a p-value is not in [0, 1].
 */
export function holmBonferroni(pValues: ArrayLike<number>): number[] {
  const m = pValues.length;
  const order: number[] = [];
  for (let i = 0; i < m; i++) {
    const p = pValues[i];
    if (p === undefined || !(p >= 0 && p <= 1)) {
      throw new RangeError(`pValues[${i}] is ${String(p)}; expected a probability in [0, 1]`);
    }
    order.push(i);
  }
  // Stable: ties keep their input order.
  order.sort((x, y) => pValues[x]! - pValues[y]!);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}

/** One pair of {@link pairwiseComparisons}: McNemar's test of `trialA` against `trialB`, Holm-adjusted. */
export interface PairwiseComparison extends McNemarResult {
  /** Key of A in `predictionsByTrial` (`b`, `accuracyA`, `delta` are from A's side). */
  trialA: string;
  /** Key of B. */
  trialB: string;
  /** Holm–Bonferroni adjusted p-value over all pairs of this call. */
  pAdjusted: number;
  /** pAdjusted ≤ alpha. */
  significant: boolean;
}

/**
 * McNemar's test for every pair of trials evaluated on the same samples, with Holm–Bonferroni adjusted
 * p-values. A sweep compares many variants at once: with k trials there are k(k−1)/2 tests, and at α = 0.05
 * each, some raw p-values fall below 0.05 by chance alone. `significant` uses the adjusted p-value, so the
 * probability of any false "A beats B" among all the pairs stays ≤ alpha. The raw `pValue` is kept too.
 *
 * Pairs come out as (keys[i], keys[j]) for i < j in `Object.keys` order (insertion order, except that
 * integer-like keys come first, ascending).
 *
 * @param labels true labels of the shared split
 * @param predictionsByTrial predictions per trial, each in the order and length of `labels`
 * @param alpha family-wise error rate, in (0, 1)
 * @param options passed to {@link mcnemar} for every pair
 * @throws RangeError if alpha is not in (0, 1), there are no samples, or a trial's predictions differ in
 *   length from `labels` (the message names the trial).
 */
export function pairwiseComparisons(
  labels: ArrayLike<number>,
  predictionsByTrial: Readonly<Record<string, ArrayLike<number>>>,
  alpha = 0.05,
  options: McNemarOptions = {},
): PairwiseComparison[] {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const trials = Object.keys(predictionsByTrial);
  if (trials.length >= 2 && labels.length === 0) {
    throw new RangeError('McNemar needs at least one sample; labels is empty');
  }
  const correct = trials.map((trial) => {
    const predictions = predictionsByTrial[trial]!;
    checkSameLength(labels, predictions, `trial ${JSON.stringify(trial)}`);
    return correctness(labels, predictions);
  });
  const exact = options.exact ?? 'auto';
  const pairs: Array<{ trialA: string; trialB: string; result: McNemarResult }> = [];
  for (let i = 0; i < trials.length; i++) {
    for (let j = i + 1; j < trials.length; j++) {
      pairs.push({
        trialA: trials[i]!,
        trialB: trials[j]!,
        result: testFromCorrectness(correct[i]!, correct[j]!, exact),
      });
    }
  }
  const adjusted = holmBonferroni(pairs.map((pair) => pair.result.pValue));
  return pairs.map(({ trialA, trialB, result }, i) => {
    const pAdjusted = adjusted[i]!;
    return { trialA, trialB, ...result, pAdjusted, significant: pAdjusted <= alpha };
  });
}
