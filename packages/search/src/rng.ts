import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/**
 * A random stream keyed by a tuple of integers: keyed(seed, k, stream, group) always gives the same
 * numbers, and tuples differing in any part give unrelated streams — so suggestion k can be
 * recomputed on its own, in any order, after a restart. pure-rand's xoroshiro128+ seeded by
 * MurmurHash3 over the key, as `@fersweep/dataset`'s Random does (this package stays free of the
 * dataset pipeline's dependencies so that the sweep contract can build on it).
 */
export class KeyedRandom {
  private readonly gen: RandomGenerator;

  private constructor(gen: RandomGenerator) {
    this.gen = gen;
  }

  static keyed(...parts: readonly number[]): KeyedRandom {
    const words: number[] = [];
    for (const p of parts) {
      if (!Number.isSafeInteger(p)) throw new RangeError(`random stream key parts must be safe integers, got ${p}`);
      words.push(p >>> 0, Math.floor(p / 4294967296) >>> 0);
    }
    const s = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344].map((salt) => murmur3(words, salt));
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1; // xoroshiro's one invalid state
    return new KeyedRandom(xoroshiro128plus.fromState(s));
  }

  /** Uniform in [0, 1), 53 bits. */
  next(): number {
    const hi = (this.gen.unsafeNext() >>> 0) >>> 5;
    const lo = (this.gen.unsafeNext() >>> 0) >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

/** MurmurHash3 (x86, 32-bit) over 32-bit words. */
function murmur3(words: readonly number[], seed: number): number {
  let h = seed | 0;
  for (const w of words) {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words.length * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
