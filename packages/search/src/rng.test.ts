import { describe, expect, it } from '@jest/globals';
import { Random } from '@fersweep/dataset';
import { KeyedRandom } from './rng.js';

describe('KeyedRandom', () => {
  it("draws exactly the dataset pipeline's Random.keyed stream for the same key", () => {
    for (const key of [[1], [42, 7, 1, 0], [2 ** 40 + 3, 0]]) {
      const a = KeyedRandom.keyed(...key);
      const b = Random.keyed(...key);
      for (let i = 0; i < 20; i++) expect(a.next()).toBe(b.next());
    }
  });

  it('gives unrelated streams to keys differing in any part, and refuses non-integer parts', () => {
    const first = (key: number[]) => KeyedRandom.keyed(...key).next();
    const values = new Set([first([1, 0, 0]), first([1, 1, 0]), first([1, 0, 1]), first([2, 0, 0])]);
    expect(values.size).toBe(4);
    expect(() => KeyedRandom.keyed(1.5)).toThrow(/safe integers/);
  });

  it('draws indices in proportion to weights', () => {
    const r = KeyedRandom.keyed(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 6000; i++) counts[r.weighted([1, 2, 3])]!++;
    expect(counts[0]).toBeGreaterThan(850);
    expect(counts[0]).toBeLessThan(1150);
    expect(counts[2]).toBeGreaterThan(2800);
    expect(counts[2]).toBeLessThan(3200);
  });
});
