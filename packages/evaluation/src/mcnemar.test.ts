import { describe, expect, it } from '@jest/globals';
import { holmBonferroni, mcnemar, pairwiseComparisons } from './mcnemar.js';
import { expectRelativelyClose } from './test-support.js';

/**
 * Labels and two prediction arrays with the given 2×2 outcome counts. Every label is 0; a right prediction
 * is 0, and A and B are wrong in different ways (1 vs 2), which must still count as "both wrong".
 */
function paired(counts: { both: number; onlyA: number; onlyB: number; neither: number }): {
  labels: number[];
  predA: number[];
  predB: number[];
} {
  const labels: number[] = [];
  const predA: number[] = [];
  const predB: number[] = [];
  const push = (times: number, a: number, b: number): void => {
    for (let i = 0; i < times; i++) {
      labels.push(0);
      predA.push(a);
      predB.push(b);
    }
  };
  push(counts.both, 0, 0);
  push(counts.onlyA, 0, 2);
  push(counts.onlyB, 1, 0);
  push(counts.neither, 1, 2);
  return { labels, predA, predB };
}

describe('mcnemar', () => {
  it('uses the exact binomial test for few discordant pairs: b = 1, c = 8 gives 20/512', () => {
    const { labels, predA, predB } = paired({ both: 10, onlyA: 1, onlyB: 8, neither: 3 });
    // p = 2·P(X ≤ 1 | n = 9, ½) = 2·(1 + 9)/2⁹ = 20/512 = 0.0390625
    expect(mcnemar(labels, predA, predB)).toEqual({
      b: 1,
      c: 8,
      n00: 3,
      n01: 8,
      n10: 1,
      n11: 10,
      statistic: 1,
      pValue: 0.0390625,
      method: 'exact',
      accuracyA: 11 / 22,
      accuracyB: 18 / 22,
      delta: -7 / 22,
    });
  });

  it('uses χ² with continuity correction from 25 discordant pairs: b = 30, c = 15', () => {
    const { labels, predA, predB } = paired({ both: 50, onlyA: 30, onlyB: 15, neither: 5 });
    const r = mcnemar(labels, predA, predB);
    expect(r.method).toBe('chi2-cc');
    // (|30 − 15| − 1)² / 45 = 196/45 ≈ 4.3556; p = erfc(√(98/45)) = 0.0368884257070 (χ²₁ table: 4.3556 → 0.0369;
    // cross-checked with scipy.stats.chi2.sf)
    expect(r.statistic).toBeCloseTo(196 / 45, 14);
    expectRelativelyClose(r.pValue, 0.03688842570704985, 1e-12);
    expect(r.delta).toBeCloseTo(15 / 100, 15);
  });

  it('follows exact: true and exact: false', () => {
    const few = paired({ both: 10, onlyA: 1, onlyB: 8, neither: 3 });
    const chi2 = mcnemar(few.labels, few.predA, few.predB, { exact: false });
    // (|1 − 8| − 1)² / 9 = 4; p = erfc(√2) = 2·(1 − Φ(2)) = 0.0455002638963584
    expect(chi2).toMatchObject({ method: 'chi2-cc', statistic: 4 });
    expectRelativelyClose(chi2.pValue, 0.0455002638963584, 1e-13);

    const many = paired({ both: 50, onlyA: 30, onlyB: 15, neither: 5 });
    const exact = mcnemar(many.labels, many.predA, many.predB, { exact: true });
    // 2·Σ_{i ≤ 15} C(45, i) / 2⁴⁵, with Σ_{i ≤ 15} C(45, i) = 628002401520 (exact integer sum)
    expect(exact).toMatchObject({ method: 'exact', statistic: 15 });
    expectRelativelyClose(exact.pValue, (2 * 628002401520) / 2 ** 45, 1e-13);
  });

  it('gives p = 1 for identical predictions', () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 0];
    const predictions = [0, 1, 2, 3, 4, 5, 6, 1];
    expect(mcnemar(labels, predictions, predictions)).toMatchObject({
      b: 0,
      c: 0,
      statistic: 0,
      pValue: 1,
      method: 'exact',
      delta: 0,
    });
    expect(mcnemar(labels, predictions, predictions, { exact: false })).toMatchObject({ statistic: 0, pValue: 1 });
  });

  it('gives p = 1 when b = c under χ², where the correction would otherwise overshoot', () => {
    const { labels, predA, predB } = paired({ both: 0, onlyA: 20, onlyB: 20, neither: 0 });
    expect(mcnemar(labels, predA, predB)).toMatchObject({ method: 'chi2-cc', statistic: 0, pValue: 1 });
    expect(mcnemar(labels, predA, predB, { exact: true }).pValue).toBe(1);
  });

  it('stays finite and agrees with χ² for 80,500 discordant pairs (b = 40000, c = 40500)', () => {
    const { labels, predA, predB } = paired({ both: 1000, onlyA: 40_000, onlyB: 40_500, neither: 100 });
    const exact = mcnemar(labels, predA, predB, { exact: true });
    const approx = mcnemar(labels, predA, predB);
    expect(approx.method).toBe('chi2-cc');
    // χ² = 499²/80500 = 249001/80500
    expect(approx.statistic).toBeCloseTo(249001 / 80500, 13);
    expect(Number.isFinite(exact.pValue)).toBe(true);
    // 2·Σ_{i ≤ 40000} C(80500, i)/2^80500, evaluated with 50-digit arithmetic (mpmath): 0.078620368805107995901
    expectRelativelyClose(exact.pValue, 0.078620368805108, 1e-11);
    // With this many pairs the normal approximation is within 1e-5 of the exact test.
    expectRelativelyClose(approx.pValue, exact.pValue, 1e-4);
  });

  it('gives the exact p = 1 for 100,000 balanced discordant pairs', () => {
    const { labels, predA, predB } = paired({ both: 0, onlyA: 50_000, onlyB: 50_000, neither: 0 });
    expect(mcnemar(labels, predA, predB, { exact: true }).pValue).toBe(1);
  });

  it('rejects predictions of another length and an empty split', () => {
    expect(() => mcnemar([0, 1], [0, 1], [0])).toThrow(/predB has 1 predictions but there are 2 labels/);
    expect(() => mcnemar([], [], [])).toThrow(RangeError);
  });
});

describe('holmBonferroni', () => {
  it('steps down and keeps the adjusted p-values monotone', () => {
    // sorted: 0.005 ×4 = 0.02; 0.01 ×3 = 0.03; 0.03 ×2 = 0.06; 0.04 ×1 = 0.04 → raised to 0.06
    const adjusted = holmBonferroni([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((expected, i) => expect(adjusted[i]).toBeCloseTo(expected, 15));
  });

  it('caps at 1 and handles the empty family', () => {
    expect(holmBonferroni([0.5, 0.6])).toEqual([1, 1]);
    expect(holmBonferroni([])).toEqual([]);
  });

  it('rejects a value that is not a probability', () => {
    expect(() => holmBonferroni([0.1, Number.NaN])).toThrow(/pValues\[1\] is NaN/);
    expect(() => holmBonferroni([1.5])).toThrow(RangeError);
  });
});

describe('pairwiseComparisons', () => {
  // Three trials; per sample, which of them got it right:
  //   1 sample  baseline ✓  wide ✗  deep ✓
  //   8 samples baseline ✗  wide ✓  deep ✗
  //  10 samples all ✓
  // baseline–wide: b = 1, c = 8 → p = 20/512; baseline–deep: identical → p = 1; wide–deep: b = 8, c = 1 → 20/512
  const labels = [...new Array<number>(19).fill(3)];
  const right = 3;
  const wrong = 4;
  const baseline = [right, ...new Array<number>(8).fill(wrong), ...new Array<number>(10).fill(right)];
  const wide = [wrong, ...new Array<number>(8).fill(right), ...new Array<number>(10).fill(right)];
  const deep = [...baseline];

  it('tests every pair and adjusts with Holm, so a raw p < 0.05 need not be significant', () => {
    const results = pairwiseComparisons(labels, { baseline, wide, deep });
    // sorted raw p: 20/512, 20/512, 1 → ×3 = 60/512, ×2 = 40/512 raised to 60/512, ×1 = 1
    expect(results.map((r) => [r.trialA, r.trialB, r.b, r.c, r.pValue, r.pAdjusted, r.significant])).toEqual([
      ['baseline', 'wide', 1, 8, 20 / 512, 60 / 512, false],
      ['baseline', 'deep', 0, 0, 1, 1, false],
      ['wide', 'deep', 8, 1, 20 / 512, 60 / 512, false],
    ]);
    expect(results[0]?.delta).toBeCloseTo(-7 / 19, 15);
  });

  it('flags pairs whose adjusted p is at most alpha', () => {
    const results = pairwiseComparisons(labels, { baseline, wide, deep }, 0.15);
    expect(results.map((r) => r.significant)).toEqual([true, false, true]);
  });

  it('has k(k−1)/2 pairs and none for a single trial', () => {
    expect(pairwiseComparisons(labels, { baseline, wide, deep, other: wide })).toHaveLength(6);
    expect(pairwiseComparisons(labels, { baseline })).toEqual([]);
  });

  it('names the trial whose predictions do not match the labels, and rejects a bad alpha', () => {
    expect(() => pairwiseComparisons(labels, { baseline, short: [3] })).toThrow(/trial "short" has 1 predictions/);
    expect(() => pairwiseComparisons(labels, { baseline, wide }, 0)).toThrow(RangeError);
    expect(() => pairwiseComparisons(labels, { baseline, wide }, 1)).toThrow(RangeError);
  });

  it('agrees with mcnemar for each pair', () => {
    const [first] = pairwiseComparisons(labels, { baseline, wide });
    const { trialA: _a, trialB: _b, pAdjusted, significant: _s, ...result } = first!;
    expect(result).toEqual(mcnemar(labels, baseline, wide));
    expect(pAdjusted).toBe(result.pValue); // one test: nothing to adjust
  });
});
