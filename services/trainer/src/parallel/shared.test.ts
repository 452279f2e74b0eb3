import { describe, expect, it } from '@jest/globals';
import { Random } from '@fersweep/dataset';
import { ownedRanges, VARIABLE_COST_PARAMETERS } from './shared.js';

const cost = (sizes: number[], [from, to]: [number, number]): number => {
  let offset = 0;
  let sum = 0;
  for (const s of sizes) {
    if (offset >= from && offset < to) sum += s + VARIABLE_COST_PARAMETERS;
    offset += s;
  }
  return sum;
};

/** The least largest cost over every split of `sizes` into `replicas` contiguous runs (brute force). */
function bestLargest(sizes: number[], replicas: number): number {
  const prefix = [0];
  for (const s of sizes) prefix.push(prefix[prefix.length - 1]! + s + VARIABLE_COST_PARAMETERS);
  const go = (start: number, left: number): number => {
    if (left === 1) return prefix[sizes.length]! - prefix[start]!;
    let best = Infinity;
    for (let end = start; end <= sizes.length; end++)
      best = Math.min(best, Math.max(prefix[end]! - prefix[start]!, go(end, left - 1)));
    return best;
  };
  return go(0, replicas);
}

describe('ownedRanges', () => {
  it('cuts whole variables so that no replica does more of the sharded step than any split allows', () => {
    const rng = new Random(5);
    for (let trial = 0; trial < 200; trial++) {
      const sizes = Array.from({ length: 1 + rng.int(9) }, () =>
        rng.int(4) === 0 ? 50_000 + rng.int(400_000) : 1 + rng.int(5_000),
      );
      const total = sizes.reduce((a, b) => a + b, 0);
      for (const replicas of [2, 3, 4]) {
        const ranges = ownedRanges(sizes, replicas);
        expect(ranges).toHaveLength(replicas);
        // Contiguous, covering every parameter once, cut at variable boundaries.
        const boundaries = new Set([0]);
        sizes.reduce((o, s) => (boundaries.add(o + s), o + s), 0);
        expect(ranges[0]![0]).toBe(0);
        expect(ranges[replicas - 1]![1]).toBe(total);
        ranges.forEach(([from, to], r) => {
          expect(boundaries.has(from) && boundaries.has(to) && from <= to).toBe(true);
          if (r > 0) expect(from).toBe(ranges[r - 1]![1]);
        });
        expect(Math.max(...ranges.map((range) => cost(sizes, range)))).toBe(bestLargest(sizes, replicas));
      }
    }
  });

  it('does not hand replica 0 a big variable that starts before the half (CNN width 1.0’s shape of sizes)', () => {
    // Small early variables (300 k parameters), a kernel of 400 k across the middle, then 50 k more. Owning every
    // variable that starts in the first half of the parameters, replica 0 would do 90% of the work.
    const sizes = [...Array.from({ length: 20 }, () => 15_000), 400_000, ...Array.from({ length: 10 }, () => 5_000)];
    expect(ownedRanges(sizes, 2)).toEqual([
      [0, 300_000],
      [300_000, 750_000],
    ]);
  });

  it('leaves later replicas nothing where there are fewer variables than replicas', () => {
    expect(ownedRanges([4, 6], 4)).toEqual([
      [0, 4],
      [4, 10],
      [10, 10],
      [10, 10],
    ]);
    expect(ownedRanges([], 2)).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
});
