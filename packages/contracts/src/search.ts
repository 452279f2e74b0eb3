import { unsafeUniformBigIntDistribution, unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';

/** A search point: one value per parameter. */
export type SearchPoint = Record<string, string | number | boolean>;
export type SearchParameters = Record<string, readonly (string | number | boolean)[]>;

/**
 * Spaces up to this size are sampled with the original algorithm (a seeded Fisher–Yates shuffle of
 * every index), so sweeps submitted before the sampler changed keep their trial lists. It costs
 * 4 bytes and one draw per point: about a millisecond per 10^4 points.
 */
export const LEGACY_SAMPLING_MAX_POINTS = 2 ** 16;

/** The number of points of a search space (the product of the value counts), exact at any size. */
export function searchSpaceSize(parameters: SearchParameters): bigint {
  let size = 1n;
  for (const values of Object.values(parameters)) size *= BigInt(values.length);
  return size;
}

/**
 * The point at `index` of the grid, without building the grid: the index in mixed radix over the
 * parameters in key order, the last key varying fastest (the order of a grid search).
 */
export function searchPointAt(parameters: SearchParameters, index: bigint): SearchPoint {
  const keys = Object.keys(parameters).sort();
  const values = new Array<string | number | boolean>(keys.length);
  let rest = index;
  for (let k = keys.length - 1; k >= 0; k--) {
    const options = parameters[keys[k]!]!;
    const radix = BigInt(options.length);
    values[k] = options[Number(rest % radix)]!;
    rest /= radix;
  }
  // Keys in sorted order, as a grid builds them; fromEntries defines (never sets) each property.
  return Object.fromEntries(keys.map((key, k) => [key, values[k]!]));
}

/**
 * `count` distinct indices of a space of `size` points, drawn uniformly without replacement,
 * deterministic for `seed`; time and memory O(count), whatever the size (a sparse Fisher–Yates:
 * only the displaced positions are remembered). Small spaces use the original full shuffle
 * (see LEGACY_SAMPLING_MAX_POINTS), whose first `count` indices are the same draw as before.
 */
export function sampleIndices(size: bigint, count: number, seed: number): bigint[] {
  const wanted = BigInt(Math.max(0, Math.floor(count)));
  const k = wanted < size ? wanted : size;
  const rng = xoroshiro128plus(seed);
  if (size <= BigInt(LEGACY_SAMPLING_MAX_POINTS)) {
    const n = Number(size);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = unsafeUniformIntDistribution(0, i, rng);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    return Array.from(order.subarray(0, Number(k)), BigInt);
  }
  const displaced = new Map<bigint, bigint>();
  const out: bigint[] = [];
  for (let i = 0n; i < k; i++) {
    const j = unsafeUniformBigIntDistribution(i, size - 1n, rng);
    out.push(displaced.get(j) ?? j);
    displaced.set(j, displaced.get(i) ?? i);
    displaced.delete(i); // position i is never drawn again
  }
  return out;
}
