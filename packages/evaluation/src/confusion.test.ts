import { describe, expect, it } from '@jest/globals';
import { confusionMatrix, rowNormalize, tallyConfusionMatrix } from './confusion.js';

describe('confusionMatrix', () => {
  it('counts rows by true class and columns by predicted class', () => {
    const labels = [0, 0, 1, 2, 2, 2];
    const predictions = [0, 1, 1, 2, 0, 2];
    expect(confusionMatrix(labels, predictions, 3)).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
  });

  it('defaults to the seven FER classes and accepts typed arrays', () => {
    const cm = confusionMatrix(Uint8Array.of(6, 3, 3), Int32Array.of(6, 3, 1));
    expect(cm).toHaveLength(7);
    expect(cm.every((row) => row.length === 7)).toBe(true);
    expect(cm[6]?.[6]).toBe(1);
    expect(cm[3]?.[3]).toBe(1);
    expect(cm[3]?.[1]).toBe(1);
    expect(confusionMatrix([], [])).toEqual(Array.from({ length: 7 }, () => new Array<number>(7).fill(0)));
  });

  it('rejects a label out of range with a RangeError naming its position', () => {
    expect(() => confusionMatrix([0, 1, 7], [0, 1, 2])).toThrow(
      new RangeError('labels[2] is 7; expected an integer class index in 0..6'),
    );
    expect(() => confusionMatrix([0, 1], [0, -1], 3)).toThrow(/predictions\[1\] is -1/);
    expect(() => confusionMatrix([0, 1.5], [0, 1], 3)).toThrow(/labels\[1\] is 1\.5/);
    expect(() => confusionMatrix([0, Number.NaN], [0, 1], 3)).toThrow(RangeError);
  });

  it('rejects labels and predictions of different lengths', () => {
    expect(() => confusionMatrix([0, 1, 2], [0, 1])).toThrow(
      new RangeError('labels and predictions differ in length: 3 labels, 2 predictions'),
    );
  });

  it('rejects a class count that is not a positive integer', () => {
    expect(() => confusionMatrix([], [], 0)).toThrow(RangeError);
    expect(() => confusionMatrix([], [], 2.5)).toThrow(RangeError);
  });
});

describe('tallyConfusionMatrix', () => {
  it('reduces a matrix to diagonal, row and column sums', () => {
    expect(
      tallyConfusionMatrix([
        [1, 1, 0],
        [0, 1, 0],
        [1, 0, 2],
      ]),
    ).toEqual([
      { tp: 1, actual: 2, predicted: 2 },
      { tp: 1, actual: 1, predicted: 2 },
      { tp: 2, actual: 3, predicted: 2 },
    ]);
  });

  it('rejects empty, ragged and non-count matrices, naming the row or cell', () => {
    expect(() => tallyConfusionMatrix([])).toThrow(RangeError);
    expect(() => tallyConfusionMatrix([[1, 2], [3]])).toThrow(/confusionMatrix\[1\] has 1 cells; expected 2/);
    expect(() =>
      tallyConfusionMatrix([
        [1, 2],
        [3, -1],
      ]),
    ).toThrow(/confusionMatrix\[1\]\[1\] is -1/);
    expect(() =>
      tallyConfusionMatrix([
        [1, 0.5],
        [3, 1],
      ]),
    ).toThrow(/confusionMatrix\[0\]\[1\] is 0\.5/);
  });
});

describe('rowNormalize', () => {
  it('divides each row by its support, leaving rows without samples at zero', () => {
    const cm = [
      [1, 3, 0],
      [0, 0, 0],
      [2, 2, 4],
    ];
    expect(rowNormalize(cm)).toEqual([
      [0.25, 0.75, 0],
      [0, 0, 0],
      [0.25, 0.25, 0.5],
    ]);
    expect(cm[0]).toEqual([1, 3, 0]); // input untouched
  });
});
