import { describe, expect, it } from '@jest/globals';
import { ConfusionMatrix, EMOTIONS, PerClassMetrics } from '@fersweep/contracts';
import { confusionMatrix, rowNormalize } from './confusion.js';
import { perClassMetrics, summarize } from './metrics.js';
import { seededRandom } from './test-support.js';

// Expected values below are fractions worked out by hand from sklearn's definitions:
// precision = tp/colSum, recall = tp/rowSum, F1 = 2tp/(rowSum + colSum), support = rowSum.

describe('perClassMetrics and summarize on a 3×3 matrix', () => {
  // rows = true, columns = predicted
  //            a  b  c   | rowSum
  const cm = [
    [5, 1, 0], // 6
    [2, 3, 1], // 6
    [0, 2, 6], // 8
  ]; // colSum 7, 6, 7; trace 14; total 20
  const names = ['a', 'b', 'c'];

  it('computes precision, recall, F1 and support per class', () => {
    const expected = [
      { class: 'a', precision: 5 / 7, recall: 5 / 6, f1: 10 / 13, support: 6 },
      { class: 'b', precision: 3 / 6, recall: 3 / 6, f1: 6 / 12, support: 6 },
      { class: 'c', precision: 6 / 7, recall: 6 / 8, f1: 12 / 15, support: 8 },
    ];
    const actual = perClassMetrics(cm, names);
    expect(actual.map((m) => [m.class, m.support])).toEqual(expected.map((m) => [m.class, m.support]));
    actual.forEach((m, i) => {
      const e = expected[i]!;
      expect(m.precision).toBeCloseTo(e.precision, 15);
      expect(m.recall).toBeCloseTo(e.recall, 15);
      expect(m.f1).toBeCloseTo(e.f1, 15);
    });
  });

  it('summarizes with sklearn definitions', () => {
    const s = summarize(cm, names);
    expect(s.accuracy).toBe(14 / 20);
    expect(s.support).toBe(20);
    // (10/13 + 1/2 + 4/5) / 3 = 269/390
    expect(s.macroF1).toBeCloseTo(269 / 390, 15);
    // (6·10/13 + 6·1/2 + 8·4/5) / 20 = 911/1300
    expect(s.weightedF1).toBeCloseTo(911 / 1300, 15);
    // (5/7 + 1/2 + 6/7) / 3 = 29/42
    expect(s.macroPrecision).toBeCloseTo(29 / 42, 15);
    // (5/6 + 1/2 + 3/4) / 3 = 25/36; every class has samples, so balanced accuracy is the same
    expect(s.macroRecall).toBeCloseTo(25 / 36, 15);
    expect(s.balancedAccuracy).toBeCloseTo(25 / 36, 15);
    // κ = (n·trace − Σ row·col) / (n² − Σ row·col), Σ row·col = 6·7 + 6·6 + 8·7 = 134: (280 − 134)/(400 − 134)
    expect(s.cohenKappa).toBeCloseTo(73 / 133, 15);
    expect(s.perClass).toEqual(perClassMetrics(cm, names));
  });
});

describe('zero division (sklearn zero_division=0)', () => {
  const cm = [
    [3, 1, 0, 0, 0], // class 0: support 4
    [1, 2, 0, 1, 0], // class 1: support 4
    [1, 1, 0, 0, 0], // class 2: support 2, never predicted
    [0, 0, 0, 0, 0], // class 3: no samples, predicted once
    [0, 0, 0, 0, 0], // class 4: neither in the labels nor in the predictions
  ]; // colSum 5, 4, 0, 1, 0; trace 5; total 10
  const names = ['c0', 'c1', 'c2', 'c3', 'c4'];

  it('gives 0 for precision when nothing is predicted as the class, and 0 recall without support', () => {
    const [, , never, unsupported, absent] = perClassMetrics(cm, names);
    // class 2: precision 0/0 → 0, recall 0/2, F1 0/(2 + 0)
    expect(never).toEqual({ class: 'c2', precision: 0, recall: 0, f1: 0, support: 2 });
    // class 3: precision 0/1, recall 0/0 → 0, F1 0/(0 + 1)
    expect(unsupported).toEqual({ class: 'c3', precision: 0, recall: 0, f1: 0, support: 0 });
    // class 4: everything 0/0 → 0
    expect(absent).toEqual({ class: 'c4', precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('averages macro metrics over classes seen in labels or predictions, as sklearn labels=None does', () => {
    const s = summarize(cm, names);
    expect(s.accuracy).toBe(0.5);
    // present: classes 0–3 (class 4 appears nowhere). F1 = 2/3, 1/2, 0, 0 → (7/6)/4
    expect(s.macroF1).toBeCloseTo(7 / 24, 15);
    // precision 3/5, 1/2, 0, 0 → (11/10)/4; recall 3/4, 1/2, 0, 0 → (5/4)/4
    expect(s.macroPrecision).toBeCloseTo(11 / 40, 15);
    expect(s.macroRecall).toBeCloseTo(5 / 16, 15);
    // over classes with samples (0–2): (3/4 + 1/2 + 0)/3
    expect(s.balancedAccuracy).toBeCloseTo(5 / 12, 15);
    // (4·2/3 + 4·1/2 + 2·0) / 10
    expect(s.weightedF1).toBeCloseTo(7 / 15, 15);
    // Σ row·col = 4·5 + 4·4 = 36: (10·5 − 36)/(100 − 36)
    expect(s.cohenKappa).toBeCloseTo(7 / 32, 15);
  });

  it('keeps every per-class value finite and in [0, 1]', () => {
    for (const m of perClassMetrics(cm, names)) {
      for (const v of [m.precision, m.recall, m.f1]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('reports Cohen κ as NaN when chance agreement is 1, and a perfect single class as accuracy 1', () => {
    const s = summarize(
      [
        [4, 0],
        [0, 0],
      ],
      ['x', 'y'],
    );
    expect(s.accuracy).toBe(1);
    expect(s.macroF1).toBe(1); // class y appears nowhere and is not averaged
    expect(s.cohenKappa).toBeNaN();
  });
});

describe('summarize on a 7×7 FER matrix', () => {
  //                 angry disgust fear happy sad surprise neutral | rowSum
  const cm = [
    [30, 0, 5, 2, 8, 1, 4], // 50
    [4, 0, 1, 0, 1, 0, 0], // 6   disgust is never predicted
    [6, 0, 22, 2, 10, 6, 4], // 50
    [1, 0, 1, 80, 2, 3, 3], // 90
    [7, 0, 8, 3, 36, 1, 15], // 70
    [1, 0, 5, 3, 1, 38, 2], // 50
    [3, 0, 3, 5, 12, 2, 45], // 70
  ]; // colSum 52, 0, 45, 95, 70, 51, 73; trace 251; total 386

  const precision = [30 / 52, 0, 22 / 45, 80 / 95, 36 / 70, 38 / 51, 45 / 73];
  const recall = [30 / 50, 0 / 6, 22 / 50, 80 / 90, 36 / 70, 38 / 50, 45 / 70];
  const f1 = [60 / 102, 0 / 6, 44 / 95, 160 / 185, 72 / 140, 76 / 101, 90 / 143];
  const support = [50, 6, 50, 90, 70, 50, 70];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('matches sklearn per class, with the emotion names', () => {
    const perClass = perClassMetrics(cm, EMOTIONS);
    expect(perClass.map((m) => m.class)).toEqual([...EMOTIONS]);
    perClass.forEach((m, i) => {
      expect(m.precision).toBeCloseTo(precision[i]!, 15);
      expect(m.recall).toBeCloseTo(recall[i]!, 15);
      expect(m.f1).toBeCloseTo(f1[i]!, 15);
      expect(m.support).toBe(support[i]);
    });
  });

  it('matches sklearn summary metrics', () => {
    const s = summarize(cm, EMOTIONS);
    expect(s.accuracy).toBe(251 / 386);
    expect(s.support).toBe(386);
    // All seven classes occur in the labels, so every macro mean is over 7 (disgust contributes 0).
    expect(s.macroF1).toBeCloseTo(mean(f1), 15); // ≈ 0.544627
    expect(s.macroPrecision).toBeCloseTo(mean(precision), 15); // ≈ 0.540534
    expect(s.macroRecall).toBeCloseTo(mean(recall), 15); // ≈ 0.549433
    expect(s.balancedAccuracy).toBeCloseTo(mean(recall), 15);
    expect(s.weightedF1).toBeCloseTo(f1.reduce((a, f, i) => a + f * support[i]!, 0) / 386, 15); // ≈ 0.642713
    // Σ row·col = 50·52 + 6·0 + 50·45 + 90·95 + 70·70 + 50·51 + 70·73 = 25960
    // κ = (386·251 − 25960) / (386² − 25960) = 70926/123036 = 11821/20506
    expect(s.cohenKappa).toBeCloseTo(11821 / 20506, 15);
    expect(s.macroF1).toBeCloseTo(0.5446270921286357, 12);
  });

  it('produces what the trial.evaluated schema accepts', () => {
    expect(ConfusionMatrix.parse(cm)).toEqual(cm);
    for (const m of summarize(cm, EMOTIONS).perClass) expect(PerClassMetrics.parse(m)).toEqual(m);
  });

  it('rejects class names that do not match the matrix, and an empty matrix', () => {
    expect(() => summarize(cm, ['angry'])).toThrow(
      new RangeError('classNames has 1 names but the confusion matrix has 7 classes'),
    );
    expect(() => summarize(confusionMatrix([], []), EMOTIONS)).toThrow(/no samples/);
  });
});

describe('property: random matrices', () => {
  it('accuracy is trace/total and every metric stays in [0, 1]', () => {
    const random = seededRandom(20240607);
    for (let trial = 0; trial < 200; trial++) {
      const k = 2 + Math.floor(random() * 8);
      const cm = Array.from({ length: k }, () =>
        Array.from({ length: k }, () => (random() < 0.3 ? 0 : Math.floor(random() * 50))),
      );
      const total = cm.flat().reduce((a, b) => a + b, 0);
      if (total === 0) continue;
      const trace = cm.reduce((a, row, i) => a + row[i]!, 0);
      const names = Array.from({ length: k }, (_, i) => `c${i}`);
      const s = summarize(cm, names);
      expect(s.accuracy).toBe(trace / total);
      expect(s.support).toBe(total);
      expect(s.perClass.reduce((a, m) => a + m.support, 0)).toBe(total);
      for (const v of [s.macroF1, s.weightedF1, s.macroPrecision, s.macroRecall, s.balancedAccuracy]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      // Each row of rates sums to 1 (or is all zeros without samples); its diagonal is recall.
      rowNormalize(cm).forEach((row, i) => {
        const sum = row.reduce((a, b) => a + b, 0);
        expect(cm[i]!.some((v) => v > 0) ? sum : 1).toBeCloseTo(1, 12);
        expect(row[i]).toBeCloseTo(s.perClass[i]!.recall, 15);
      });
    }
  });

  it('accuracy from labels and predictions is the fraction that agree', () => {
    const random = seededRandom(7);
    const n = 5000;
    const labels = Array.from({ length: n }, () => Math.floor(random() * 7));
    const predictions = labels.map((y) => (random() < 0.6 ? y : Math.floor(random() * 7)));
    const agree = labels.filter((y, i) => y === predictions[i]).length;
    expect(summarize(confusionMatrix(labels, predictions), EMOTIONS).accuracy).toBe(agree / n);
  });
});
