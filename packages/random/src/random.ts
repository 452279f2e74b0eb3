import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/**
 * A seeded, mutable random source over pure-rand's xoroshiro128+. Every random choice in the
 * dataset pipeline (synthesis, splits, shuffles, augmentation) goes through one of these, so the
 * same seed always gives the same bytes. `state()`/`Random.fromState()` let a trainer checkpoint
 * its data position and resume it exactly.
 */
export class Random {
  private gen: RandomGenerator;
  private spare: number | undefined;

  /**
   * A generator for `seed`. The whole 128-bit state is derived by hashing (see {@link Random.keyed}):
   * pure-rand's own xoroshiro128+ seeding copies the seed almost verbatim, so its first output is
   * just `~seed` and neighbouring seeds start out correlated.
   */
  constructor(seed: number | RandomGenerator) {
    this.gen = typeof seed === 'number' ? keyedState(seed) : seed;
  }

  /**
   * A generator keyed by a tuple of integers (seed, epoch, stream, batch…): the same tuple always
   * gives the same stream, tuples differing in any part give unrelated streams, so any sub-stream
   * (one epoch's order, one batch's augmentation, one class block of a split) can be recreated
   * without replaying the others.
   */
  static keyed(...parts: readonly number[]): Random {
    return new Random(keyedState(...parts));
  }

  static fromState(state: readonly number[]): Random {
    return new Random(xoroshiro128plus.fromState(state));
  }

  state(): number[] {
    return [...this.gen.getState()];
  }

  /** An independent stream derived from this one (for a sub-task such as one image). */
  fork(): Random {
    return new Random(this.uint32() ^ (this.uint32() << 1));
  }

  /** 32 random bits as an unsigned integer. */
  uint32(): number {
    return this.gen.unsafeNext() >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    // 53 bits from two draws, like Math.random's resolution.
    const hi = this.uint32() >>> 5;
    const lo = this.uint32() >>> 6;
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

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** Standard normal (Marsaglia polar method). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return mean + std * s;
    }
    let u: number, v: number, s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return mean + std * u * m;
  }

  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[] | Uint32Array | Int32Array): typeof items {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

function keyedState(...parts: readonly number[]): RandomGenerator {
  const words: number[] = [];
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new RangeError(`random stream key parts must be safe integers, got ${p}`);
    // Two 32-bit halves, so seeds beyond 2^32 (e.g. Date.now()) are not truncated.
    words.push(p >>> 0, Math.floor(p / 4294967296) >>> 0);
  }
  const s = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344].map((salt) => hashWords(words, salt));
  // xoroshiro's only invalid state is all zeros.
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  return xoroshiro128plus.fromState(s);
}

/** MurmurHash3 (x86, 32-bit) over 32-bit words: small, well studied, allocation-free. */
function hashWords(words: readonly number[], seed: number): number {
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
