import { NUM_CLASSES } from '@fersweep/contracts';

/**
 * A square matrix of counts, rows = true class, columns = predicted class, in label order: the shape of
 * `trial.evaluated`'s `confusionMatrix`. Plain arrays and typed-array rows are both accepted.
 */
export type CountMatrix = ReadonlyArray<ArrayLike<number>>;

/** Per-class tallies of a confusion matrix, the only numbers every metric here is built from. */
export interface ClassTally {
  /** True positives: the diagonal cell. */
  tp: number;
  /** Row sum: how many samples truly are this class (sklearn's `support`). */
  actual: number;
  /** Column sum: how many samples were predicted as this class. */
  predicted: number;
}

/** Throws unless `value` is an integer class index in 0..numClasses−1; `where` names the position. */
function checkClass(value: number | undefined, numClasses: number, where: string): number {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value >= numClasses) {
    throw new RangeError(`${where} is ${String(value)}; expected an integer class index in 0..${numClasses - 1}`);
  }
  return value;
}

/**
 * Counts (true, predicted) pairs into a numClasses × numClasses confusion matrix: `cm[t][p]` is the number
 * of samples of true class t predicted as p (sklearn's `confusion_matrix(y_true, y_pred, labels=range(K))`).
 *
 * @param labels true class indices, one per sample
 * @param predictions predicted class indices, same order and length as `labels`
 * @param numClasses matrix size; defaults to the seven FER emotions
 * @throws RangeError if the lengths differ, `numClasses` is not a positive integer, or an entry is not an
 *   integer in 0..numClasses−1 (the message names the array and position, e.g. `labels[12] is 7`).
 */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  numClasses: number = NUM_CLASSES,
): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  if (labels.length !== predictions.length) {
    throw new RangeError(
      `labels and predictions differ in length: ${labels.length} labels, ${predictions.length} predictions`,
    );
  }
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = checkClass(labels[i], numClasses, `labels[${i}]`);
    const p = checkClass(predictions[i], numClasses, `predictions[${i}]`);
    const row = cm[t]!; // t was checked to be in 0..numClasses−1
    row[p] = row[p]! + 1;
  }
  return cm;
}

/**
 * Validates a confusion matrix and reduces it to per-class tallies in one pass.
 * @throws RangeError if the matrix is empty or not square, or a cell is not a non-negative safe integer
 *   (the message names the cell, e.g. `confusionMatrix[2][3] is -1`).
 */
export function tallyConfusionMatrix(cm: CountMatrix): ClassTally[] {
  const k = cm.length;
  if (k === 0) throw new RangeError('confusion matrix has no rows; expected a square matrix of counts');
  const tallies: ClassTally[] = Array.from({ length: k }, () => ({ tp: 0, actual: 0, predicted: 0 }));
  for (let t = 0; t < k; t++) {
    const row = cm[t];
    if (row === undefined || row.length !== k) {
      throw new RangeError(
        `confusionMatrix[${t}] has ${row === undefined ? 'no' : row.length} cells; expected ${k} (a square matrix)`,
      );
    }
    const tally = tallies[t]!;
    for (let p = 0; p < k; p++) {
      const v = row[p];
      if (v === undefined || !Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`confusionMatrix[${t}][${p}] is ${String(v)}; counts must be non-negative integers`);
      }
      tally.actual += v;
      tallies[p]!.predicted += v;
      if (p === t) tally.tp = v;
    }
  }
  return tallies;
}

/**
 * Rates per true class: each row divided by its sum, so `rowNormalize(cm)[t][p]` is the fraction of class-t
 * samples predicted as p and the diagonal is per-class recall (sklearn `confusion_matrix(normalize='true')`).
 * A row with no samples becomes all zeros rather than NaN, as sklearn does.
 * @throws RangeError if `cm` is not a square matrix of non-negative integer counts.
 */
export function rowNormalize(cm: CountMatrix): number[][] {
  const tallies = tallyConfusionMatrix(cm);
  return tallies.map(({ actual }, t) => {
    const row = cm[t]!;
    const out = new Array<number>(tallies.length);
    for (let p = 0; p < tallies.length; p++) out[p] = actual === 0 ? 0 : row[p]! / actual;
    return out;
  });
}
