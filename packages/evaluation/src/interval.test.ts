import { describe, expect, it } from '@jest/globals';
import { wilsonInterval } from './interval.js';

describe('wilsonInterval', () => {
  it('gives (0.7864, 0.9565) for 45 correct out of 50', () => {
    // (45 + 1.96²/2 ∓ 1.96·√(45·5/50 + 1.96²/4)) / (50 + 1.96²) = (46.9208 ∓ 1.96·√5.4604) / 53.8416
    const { estimate, lower, upper } = wilsonInterval(45, 50);
    expect(estimate).toBe(0.9);
    expect(lower).toBeCloseTo((46.9208 - 1.96 * Math.sqrt(5.4604)) / 53.8416, 14);
    expect(upper).toBeCloseTo((46.9208 + 1.96 * Math.sqrt(5.4604)) / 53.8416, 14);
    expect(lower).toBeCloseTo(0.786395, 6);
    expect(upper).toBeCloseTo(0.956525, 6);
  });

  it('is exactly [0, z²/(n + z²)] at 0 successes and [n/(n + z²), 1] at n', () => {
    // With p̂ = 0 the half-width z·√(z²/4) equals the centre z²/2, so the bounds are 0 and z²/(n + z²).
    expect(wilsonInterval(0, 10)).toEqual({ estimate: 0, lower: 0, upper: expect.closeTo(3.8416 / 13.8416, 14) });
    expect(wilsonInterval(10, 10)).toEqual({ estimate: 1, lower: expect.closeTo(10 / 13.8416, 14), upper: 1 });
  });

  it('narrows as n grows and widens with z', () => {
    const small = wilsonInterval(90, 100);
    const large = wilsonInterval(9000, 10000);
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
    const wide = wilsonInterval(90, 100, 2.576);
    expect(wide.lower).toBeLessThan(small.lower);
    expect(wide.upper).toBeGreaterThan(small.upper);
  });

  it('rejects impossible counts and quantiles', () => {
    expect(() => wilsonInterval(1, 0)).toThrow(/n must be a positive integer/);
    expect(() => wilsonInterval(11, 10)).toThrow(/successes must be an integer in 0\.\.10, got 11/);
    expect(() => wilsonInterval(-1, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(5, 10, 0)).toThrow(RangeError);
  });
});
