import type { PerClassMetrics } from '@fersweep/contracts';
import { tallyConfusionMatrix, type ClassTally, type CountMatrix } from './confusion.js';

/** Everything `trial.evaluated` and the comparison views report about one confusion matrix. */
export interface EvaluationSummary {
  /** trace / total: the fraction of samples predicted correctly. */
  accuracy: number;
  /** Unweighted mean of per-class F1 over the classes present (see {@link summarize}). */
  macroF1: number;
  /** Mean of per-class F1 weighted by support (true-class count). */
  weightedF1: number;
  /** Unweighted mean of per-class precision over the classes present. */
  macroPrecision: number;
  /** Unweighted mean of per-class recall over the classes present. */
  macroRecall: number;
  /** Mean recall over the classes with support > 0 (sklearn `balanced_accuracy_score`, not adjusted). */
  balancedAccuracy: number;
  /** Cohen's κ between truth and prediction, unweighted; NaN when undefined (see {@link summarize}). */
  cohenKappa: number;
  /** One entry per class, in label order. */
  perClass: PerClassMetrics[];
  /** Total number of samples (sum of the matrix). */
  support: number;
}

function ratio(numerator: number, denominator: number): number {
  // sklearn zero_division=0: an undefined ratio (0/0) counts as 0.
  return denominator === 0 ? 0 : numerator / denominator;
}

function fromTallies(tallies: readonly ClassTally[], classNames: readonly string[]): PerClassMetrics[] {
  if (classNames.length !== tallies.length) {
    throw new RangeError(
      `classNames has ${classNames.length} names but the confusion matrix has ${tallies.length} classes`,
    );
  }
  return tallies.map(({ tp, actual, predicted }, i) => ({
    class: classNames[i]!,
    precision: ratio(tp, predicted),
    recall: ratio(tp, actual),
    // 2tp / (2tp + fp + fn) = 2tp / (actual + predicted): equal to 2PR/(P+R) where both are defined, and
    // how sklearn ≥ 1.3 computes it, so it is 0 (not NaN) when precision or recall is 0/0.
    f1: ratio(2 * tp, actual + predicted),
    support: actual,
  }));
}

/**
 * Precision, recall, F1 and support of every class of a confusion matrix (rows = true, columns = predicted),
 * as sklearn's `precision_recall_fscore_support(..., average=None, zero_division=0)`:
 *
 * - precision = tp / (tp + fp), and **0 when nothing was predicted as the class** (tp + fp = 0);
 * - recall = tp / (tp + fn), and **0 when the class has no samples** (support = 0);
 * - F1 = 2tp / (2tp + fp + fn) (the harmonic mean of the two), and 0 when the class appears in neither the
 *   labels nor the predictions.
 *
 * Every value is therefore finite and in [0, 1], as the `trial.evaluated` schema requires.
 *
 * @param cm square matrix of non-negative integer counts, rows = true class, columns = predicted
 * @param classNames one name per class, in label order (e.g. `EMOTIONS`)
 * @throws RangeError if `cm` is not a square count matrix or `classNames` has the wrong length.
 */
export function perClassMetrics(cm: CountMatrix, classNames: readonly string[]): PerClassMetrics[] {
  return fromTallies(tallyConfusionMatrix(cm), classNames);
}

/**
 * Summary metrics of a confusion matrix with sklearn-compatible definitions (`zero_division=0`):
 *
 * - `accuracy` = trace / total (`accuracy_score`).
 * - `macroF1`, `macroPrecision`, `macroRecall`: unweighted means over the classes **present in the labels or
 *   the predictions** (row or column sum > 0). This is sklearn's default `labels=None`, which takes
 *   `unique_labels(y_true, y_pred)`: a class absent from both (say, no `disgust` in a small split that no
 *   model predicts either) is left out instead of adding a 0. A class with samples that is never predicted,
 *   or predicted but without samples, is included and contributes 0 where its ratio is 0/0.
 * - `weightedF1`: per-class F1 weighted by support (`average='weighted'`).
 * - `balancedAccuracy`: mean recall over classes with support > 0 (`balanced_accuracy_score`, `adjusted=False`).
 * - `cohenKappa` = (p_o − p_e) / (1 − p_e) with p_o = trace/n and p_e = Σ_k rowSum_k·colSum_k / n²
 *   (`cohen_kappa_score`, unweighted), computed as (n·trace − Σ rowSum·colSum) / (n² − Σ rowSum·colSum) so
 *   integer counts stay exact until the one division. NaN when p_e = 1 (every label and every prediction is
 *   the same single class), where κ is 0/0, as sklearn returns.
 * - `support`: the total number of samples.
 *
 * @param cm square matrix of non-negative integer counts, rows = true class, columns = predicted
 * @param classNames one name per class, in label order
 * @throws RangeError if `cm` is not a square count matrix, sums to 0 (no samples: accuracy is undefined),
 *   or `classNames` has the wrong length.
 */
export function summarize(cm: CountMatrix, classNames: readonly string[]): EvaluationSummary {
  const tallies = tallyConfusionMatrix(cm);
  const perClass = fromTallies(tallies, classNames);
  let total = 0;
  let correct = 0;
  let chanceAgreement = 0; // Σ rowSum·colSum
  let present = 0;
  let supported = 0;
  let sumF1 = 0;
  let sumPrecision = 0;
  let sumRecall = 0;
  let sumSupportedRecall = 0;
  let weightedF1Sum = 0;
  tallies.forEach(({ tp, actual, predicted }, i) => {
    const m = perClass[i]!;
    total += actual;
    correct += tp;
    chanceAgreement += actual * predicted;
    weightedF1Sum += m.f1 * actual;
    if (actual > 0 || predicted > 0) {
      present += 1;
      sumF1 += m.f1;
      sumPrecision += m.precision;
      sumRecall += m.recall;
    }
    if (actual > 0) {
      supported += 1;
      sumSupportedRecall += m.recall;
    }
  });
  if (total === 0) {
    throw new RangeError('confusion matrix is all zeros: no samples to summarize');
  }
  const kappaDenominator = total * total - chanceAgreement;
  return {
    accuracy: correct / total,
    macroF1: sumF1 / present,
    weightedF1: weightedF1Sum / total,
    macroPrecision: sumPrecision / present,
    macroRecall: sumRecall / present,
    balancedAccuracy: sumSupportedRecall / supported,
    cohenKappa: kappaDenominator === 0 ? Number.NaN : (total * correct - chanceAgreement) / kappaDenominator,
    perClass,
    support: total,
  };
}
