import { Random } from '../random.js';

/**
 * Named sub-streams of one (seed, epoch). Each gets its own generator so that, for example, turning
 * augmentation on does not change the shuffle order, and batch k's augmentation can be recreated
 * without replaying batches 0…k−1.
 */
export const Stream = { order: 1, augment: 2 } as const;

/**
 * A `Random` keyed by a tuple of integers (seed, epoch, stream, batch…): the same tuple always gives
 * the same stream, and tuples differing in any part give unrelated streams.
 *
 * Seeding through `Random.fromState` with four independent 32-bit hashes, rather than `new Random(n)`,
 * because pure-rand's xoroshiro128+ seeding copies the seed almost verbatim into the state, so its
 * first output is just `~seed`; hashing all 128 bits keeps neighbouring tuples apart from the first draw.
 */
export function keyedRandom(...parts: readonly number[]): Random {
  const words: number[] = [];
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new RangeError(`random stream key parts must be safe integers, got ${p}`);
    // Split into two 32-bit halves so seeds beyond 2^32 (e.g. Date.now()) are not truncated.
    words.push(p >>> 0, Math.floor(p / 4294967296) >>> 0);
  }
  const s0 = hashWords(words, 0x243f6a88);
  const s1 = hashWords(words, 0x85a308d3);
  const s2 = hashWords(words, 0x13198a2e);
  const s3 = hashWords(words, 0x03707344);
  // xoroshiro's only invalid state is all zeros; four independent hashes hitting it is ~2^-128, but be exact.
  return Random.fromState([(s0 | s1 | s2 | s3) === 0 ? 1 : s0, s1, s2, s3]);
}

/** MurmurHash3 (x86, 32-bit) over 32-bit words; small, well studied and allocation-free. */
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
