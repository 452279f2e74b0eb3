import { describe, expect, it } from '@jest/globals';
import { StratifiedSplitter } from './split.js';

function run(counts: number[], fraction: number, seed: number) {
  const s = new StratifiedSplitter(fraction, seed);
  const val = counts.map(() => 0);
  const order: string[] = [];
  const labels = counts.flatMap((n, c) => Array.from({ length: n }, () => c));
  // interleave classes deterministically, as rows arrive in a real file
  labels.sort((a, b) => ((a * 7919) % 13) - ((b * 7919) % 13) || a - b);
  for (const l of labels) {
    const split = s.assign(l);
    order.push(split);
    if (split === 'val') val[l]!++;
  }
  return { val, order };
}

describe('StratifiedSplitter', () => {
  it.each([0.1, 0.15, 0.3])('holds out each class in proportion, within one row of its share (fraction %p)', (f) => {
    const counts = [3995, 436, 4097, 7215, 4830, 3171, 4965];
    for (const seed of [1, 42, 7]) {
      const { val } = run(counts, f, seed);
      counts.forEach((n, c) => {
        expect(val[c]).toBeGreaterThanOrEqual(Math.floor(n * f) - 1);
        expect(val[c]).toBeLessThanOrEqual(Math.ceil(n * f) + 1);
      });
    }
  });
  it('is deterministic by seed and differs across seeds', () => {
    const counts = [500, 50, 500, 900, 600, 400, 600];
    expect(run(counts, 0.2, 1).order).toEqual(run(counts, 0.2, 1).order);
    expect(run(counts, 0.2, 1).order).not.toEqual(run(counts, 0.2, 2).order);
  });
  it('puts nothing in val at fraction 0 and rejects fractions outside [0, 1)', () => {
    expect(run([100, 100, 0, 0, 0, 0, 0], 0, 3).val).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(() => new StratifiedSplitter(1, 0)).toThrow(/valFraction/);
  });
});
