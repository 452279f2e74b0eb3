import { describe, expect, it } from '@jest/globals';
import { Random } from './random.js';

describe('Random', () => {
  // Pinned from the dataset pipeline's and the search's implementations before they became this one:
  // datasets, splits, augmentation and suggestions depend on these streams bit for bit.
  it('draws the same keyed streams as ever', () => {
    const first = (key: number[]) => {
      const r = Random.keyed(...key);
      return [r.uint32(), r.uint32(), r.next(), r.int(1000)];
    };
    expect(first([42])).toEqual([3576711415, 1598392379, 0.7748783143463689, 917]);
    expect(first([42, 7, 1, 0])).toEqual([1472242398, 4278528676, 0.8607641124095113, 554]);
    expect(first([2 ** 40 + 3, 0])).toEqual([1872294635, 4026537371, 0.7400436498009427, 80]);
    expect(first([0])).toEqual([94066796, 2318436142, 0.6209969810989633, 295]);
    const r = new Random(7);
    expect([r.next(), r.normal(), r.normal(), r.fork().uint32()]).toEqual([
      0.2967009355841158, 2.1416605511223197, 0.2964263045505252, 3439591481,
    ]);
  });

  it('resumes a stream from its saved state', () => {
    const a = Random.keyed(5, 1);
    a.next();
    const b = Random.fromState(a.state());
    expect([b.next(), b.uint32()]).toEqual([a.next(), a.uint32()]);
  });
});
