import { describe, expect, it } from '@jest/globals';
import { binomialHalfCdf, chiSquareSurvivalDf1, erfc, logBinomialHalfPmf } from './special.js';
import { expectRelativelyClose } from './test-support.js';

describe('erfc', () => {
  // erfc to 16 significant digits: x ≤ 2 from erf in Abramowitz & Stegun Table 7.1 (DLMF 7.2),
  // x = 5 and 10 from the asymptotic series / mpmath at 50 digits.
  it.each([
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [2, 0.004677734981047266],
    [5, 1.5374597944280349e-12],
    [10, 2.088487583762545e-45],
    [-1, 1.8427007929497148],
  ])('erfc(%p) = %p to 1e-13 relative', (x, expected) => {
    expectRelativelyClose(erfc(x), expected, 1e-13);
  });

  it('is continuous where the approximation switches branches (|x| = 0.46875 and 4)', () => {
    for (const edge of [0.46875, 4]) {
      const below = erfc(edge * (1 - 1e-15));
      const above = erfc(edge * (1 + 1e-15));
      expectRelativelyClose(above, below, 1e-13);
    }
  });

  it('satisfies erfc(−x) = 2 − erfc(x) and decreases', () => {
    let previous = 2;
    for (let i = -600; i <= 600; i++) {
      const x = i / 100;
      const v = erfc(x);
      expect(v).toBeLessThanOrEqual(previous);
      expect(erfc(-x) + v).toBeCloseTo(2, 15);
      previous = v;
    }
  });

  it('underflows to 0 far out and passes NaN through', () => {
    expect(erfc(27)).toBe(0);
    expect(erfc(Number.POSITIVE_INFINITY)).toBe(0);
    expect(erfc(Number.NEGATIVE_INFINITY)).toBe(2);
    expect(erfc(Number.NaN)).toBeNaN();
  });
});

describe('chiSquareSurvivalDf1', () => {
  it('gives 0.05 at the 95% quantile of χ²₁, 1.959963984540054² = 3.841458820694124', () => {
    expectRelativelyClose(chiSquareSurvivalDf1(3.841458820694124), 0.05, 1e-12);
  });

  it('gives 2·(1 − Φ(2)) = 0.0455002638963584 at χ² = 4 and 1 at 0', () => {
    expectRelativelyClose(chiSquareSurvivalDf1(4), 0.0455002638963584, 1e-13);
    expect(chiSquareSurvivalDf1(0)).toBe(1);
  });
});

describe('binomialHalfCdf', () => {
  it('matches exact sums for small n', () => {
    // P(X ≤ 1 | n = 9) = (C(9,0) + C(9,1)) / 2⁹ = 10/512
    expectRelativelyClose(binomialHalfCdf(1, 9), 10 / 512, 1e-14);
    // (1 + 9 + 36 + 84 + 126) / 512 = 256/512: half the mass of an odd n
    expectRelativelyClose(binomialHalfCdf(4, 9), 0.5, 1e-14);
    // upper side through symmetry: P(X ≤ 7 | 9) = 1 − P(X ≤ 1) = 502/512
    expectRelativelyClose(binomialHalfCdf(7, 9), 502 / 512, 1e-14);
    expect(binomialHalfCdf(-1, 9)).toBe(0);
    expect(binomialHalfCdf(9, 9)).toBe(1);
    expect(binomialHalfCdf(0, 0)).toBe(1);
  });

  it('is correctly rounded for n ≤ 50 (checked against exact BigInt sums)', () => {
    for (let n = 0; n <= 50; n++) {
      let coefficient = 1n;
      let sum = 0n;
      for (let k = 0; k <= n; k++) {
        sum += coefficient;
        // Number(sum)/2ⁿ is the correctly rounded quotient: sum < 2⁵³ and 2ⁿ is a power of two.
        expect(binomialHalfCdf(k, n)).toBe(Number(sum) / 2 ** n);
        coefficient = (coefficient * BigInt(n - k)) / BigInt(k + 1);
      }
    }
  });

  it('stays accurate for n near 100,000', () => {
    // Odd n: P(X ≤ (n − 1)/2) = ½ exactly by symmetry; this sums ~thousands of terms from the mode down.
    expectRelativelyClose(binomialHalfCdf(49_999, 99_999), 0.5, 1e-12);
    // Even n = 2m: P(X ≤ m) = ½ + ½·C(2m, m)/4^m, and C(2m, m)/4^m = (1 − 1/(8m) + 1/(128m²) + …)/√(πm)
    const m = 50_000;
    const central = (1 - 1 / (8 * m) + 1 / (128 * m * m)) / Math.sqrt(Math.PI * m);
    expectRelativelyClose(Math.exp(logBinomialHalfPmf(m, 2 * m)), central, 1e-12);
    expectRelativelyClose(binomialHalfCdf(m, 2 * m), 0.5 + central / 2, 1e-12);
  });

  it('gives the end points of the pmf exactly', () => {
    expect(logBinomialHalfPmf(0, 1000)).toBe(-1000 * Math.LN2);
    expect(logBinomialHalfPmf(1000, 1000)).toBe(-1000 * Math.LN2);
    expect(logBinomialHalfPmf(1001, 1000)).toBe(Number.NEGATIVE_INFINITY);
  });
});
