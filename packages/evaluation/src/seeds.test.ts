import { describe, expect, it } from '@jest/globals';
import { pairedTTest, signTest, smallestRankTestP, tInterval, wilcoxonSignedRank } from './seeds.js';

// Reference values: scipy 1.10 (Debian python3-scipy), e.g.
// stats.t.interval(0.95, 4, loc=mean, scale=stats.sem(x)), stats.ttest_rel(a, b),
// stats.wilcoxon(d, method='exact'), stats.binomtest(k, n, 0.5).
const A = [0.652, 0.641, 0.668, 0.659, 0.647];
const B = [0.431, 0.452, 0.447, 0.462, 0.428];

describe('tInterval', () => {
  it('is mean ± t(0.975, n − 1)·sd/√n, by hand and as scipy computes it', () => {
    const r = tInterval(A);
    // By hand: mean 0.6534; squared deviations sum to 4.412e-4, sd = √(4.412e-4 / 4) = 0.0105024;
    // t(0.975, 4) = 2.776445; half-width 2.776445 · 0.0105024 / √5 = 0.0130404.
    expect(r.mean).toBeCloseTo(0.6534, 12);
    expect(r.sd).toBeCloseTo(0.010502380682492908, 12);
    expect(r.lower).toBeCloseTo(0.6534 - 0.0130404, 6);
    expect(r.lower).toBeCloseTo(0.6403595720111179, 12);
    expect(r.upper).toBeCloseTo(0.6664404279888823, 12);
    expect(r.confidence).toBe(0.95);
  });

  it('gives no interval for a single seed (no spread to estimate), not a zero-width one', () => {
    expect(tInterval([0.7])).toEqual({ n: 1, mean: 0.7, sd: null, lower: null, upper: null, confidence: 0.95 });
  });

  it('refuses an empty list', () => {
    expect(() => tInterval([])).toThrow(/at least one value/);
  });
});

describe('pairedTTest', () => {
  it('matches scipy ttest_rel and the t-interval of the mean difference', () => {
    const r = pairedTTest(A, B);
    expect(r.mean).toBeCloseTo(0.2094, 12);
    expect(r.statistic).toBeCloseTo(30.688113485164724, 9);
    expect(r.pValue! / 6.717418072899201e-6).toBeCloseTo(1, 6);
    expect(r.lower).toBeCloseTo(0.19045495779955737, 12);
    expect(r.upper).toBeCloseTo(0.2283450422004427, 12);
    expect(r.df).toBe(4);
  });

  it('matches scipy on a difference that is not significant', () => {
    const r = pairedTTest([0.61, 0.58, 0.63, 0.6], [0.59, 0.6, 0.6, 0.585]);
    expect(r.statistic).toBeCloseTo(1.0346422480731188, 9);
    expect(r.pValue).toBeCloseTo(0.3769244115877887, 9);
    expect(r.lower).toBeCloseTo(-0.023353768598397495, 12);
    expect(r.upper).toBeCloseTo(0.045853768598397515, 12);
  });

  it('has no test with one pair, and a certain answer when every difference is the same', () => {
    expect(pairedTTest([0.7], [0.6])).toMatchObject({ n: 1, statistic: null, pValue: null, lower: null });
    expect(pairedTTest([0.75, 0.5], [0.5, 0.25])).toMatchObject({ pValue: 0, statistic: Infinity });
    expect(pairedTTest([0.7, 0.8], [0.7, 0.8])).toMatchObject({ pValue: 1, statistic: 0 });
  });

  it('refuses lists of different lengths', () => {
    expect(() => pairedTTest([1, 2], [1])).toThrow(/equal lengths/);
  });
});

describe('rank tests', () => {
  it('sign test: exact binomial p as scipy binomtest', () => {
    expect(signTest([0.1, 0.2, 0.3, 0.1, 0.2])).toEqual({ positive: 5, negative: 0, pValue: 0.0625 });
    expect(signTest([1, 1, 1, 1, 1, 1, -1, -1, 0]).pValue).toBeCloseTo(0.2890625, 12);
    expect(signTest([0, 0]).pValue).toBe(1);
  });

  it('Wilcoxon signed-rank: exact p as scipy wilcoxon(method="exact")', () => {
    expect(wilcoxonSignedRank(A.map((a, i) => a - B[i]!))).toEqual({ statistic: 0, pValue: 0.0625 });
    const r = wilcoxonSignedRank([0.03, -0.01, 0.05, 0.02, 0.04, 0.06, -0.005, 0.07])!;
    expect(r.statistic).toBe(3);
    expect(r.pValue).toBeCloseTo(0.0390625, 12);
    expect(wilcoxonSignedRank([0, 0])).toBeNull();
  });

  it('cannot reach p < 0.05 below six pairs: the smallest two-sided p is 2/2ⁿ', () => {
    expect(smallestRankTestP(4)).toBe(0.125);
    expect(smallestRankTestP(5)).toBe(0.0625);
    expect(smallestRankTestP(6)).toBe(0.03125);
    expect(smallestRankTestP(0)).toBe(1);
  });
});
