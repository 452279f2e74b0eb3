import { describe, expect, it } from '@jest/globals';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { LEGACY_SAMPLING_MAX_POINTS, sampleIndices, searchPointAt, searchSpaceSize } from './search.js';
import { gridParameters } from './search-spec.js';
import { countTrials, expandTrials, SweepSpec, TooManyTrialsError, type SweepSpecInput } from './sweep.js';

const sweep = (search: NonNullable<SweepSpecInput['spec']['search']>, variants = ['cnn', 'mnv2']): SweepSpec =>
  SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'search' },
    spec: {
      dataset: 'file:///data',
      variants: variants.map((name) => ({ name, model: 'cnn' })),
      search,
    },
  } satisfies SweepSpecInput);

/** 10^n points: n parameters of ten values each. */
const decades = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`p${String(i).padStart(2, '0')}`, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]),
  );

/** The grid of the first version, which built every point (the oracle for small spaces). */
function firstGrid(parameters: Record<string, (string | number | boolean)[]>) {
  let points: Record<string, string | number | boolean>[] = [{}];
  for (const k of Object.keys(parameters).sort())
    points = points.flatMap((p) => parameters[k]!.map((v) => ({ ...p, [k]: v })));
  return points;
}
/** The random draw of the first version: a seeded shuffle of the whole grid, then its head. */
function firstDraw(parameters: Record<string, (string | number | boolean)[]>, samples: number, seed: number) {
  const points = firstGrid(parameters);
  const rng = xoroshiro128plus(seed);
  for (let i = points.length - 1; i > 0; i--) {
    const j = unsafeUniformIntDistribution(0, i, rng);
    [points[i], points[j]] = [points[j]!, points[i]!];
  }
  return points.slice(0, samples);
}
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

describe('random search over a huge space', () => {
  it('draws from 10^30 points without building them: distinct, deterministic, counted exactly', () => {
    const spec = sweep({ method: 'random', samples: 7, seed: 3, parameters: decades(30) });
    expect(searchSpaceSize(gridParameters(spec.spec.search!.parameters))).toBe(10n ** 30n);
    expect(countTrials(spec)).toBe(14);
    const trials = expandTrials(spec);
    expect(trials).toHaveLength(14);
    expect(trials.map((t) => t.trial).slice(0, 7)).toEqual([
      'cnn-0',
      'cnn-1',
      'cnn-2',
      'cnn-3',
      'cnn-4',
      'cnn-5',
      'cnn-6',
    ]);
    const points = trials.filter((t) => t.variant === 'cnn').map((t) => JSON.stringify(t.searchPoint));
    expect(new Set(points).size).toBe(7);
    expect(Object.keys(trials[0]!.searchPoint)).toHaveLength(30);
    expect(expandTrials(spec)).toEqual(trials);
    expect(expandTrials(sweep({ method: 'random', samples: 7, seed: 4, parameters: decades(30) }))).not.toEqual(trials);
  });

  it('refuses a grid of 10^30 points by counting, before building anything', () => {
    const spec = sweep({ method: 'grid', parameters: decades(30) });
    expect(countTrials(spec)).toBe(2e30);
    expect(() => expandTrials(spec)).toThrow(TooManyTrialsError);
    expect(() => expandTrials(spec)).toThrow(/expands to 2e\+30 trials, more than the 100000 allowed/);
    expect(() => expandTrials(sweep({ method: 'grid', parameters: decades(2) }), { maxTrials: 199 })).toThrow(
      TooManyTrialsError,
    );
  });

  it('counts a space too large for a number as Infinity (refused like any other oversized grid)', () => {
    expect(countTrials(sweep({ method: 'grid', parameters: decades(400) }))).toBe(Infinity);
    expect(countTrials(sweep({ method: 'random', samples: 5, parameters: decades(400) }))).toBe(10);
  });
});

describe('sampleIndices', () => {
  it('above the legacy size: distinct indices in range, O(samples), the same for the same seed', () => {
    const size = 2n ** 64n + 13n;
    const a = sampleIndices(size, 2000, 11);
    expect(a).toHaveLength(2000);
    expect(new Set(a).size).toBe(2000);
    expect(a.every((i) => i >= 0n && i < size)).toBe(true);
    expect(sampleIndices(size, 2000, 11)).toEqual(a);
  });

  it('draws every point once when asked for all of them (without replacement), on both paths', () => {
    for (const size of [10n, BigInt(LEGACY_SAMPLING_MAX_POINTS) + 7n]) {
      const all = sampleIndices(size, Number(size), 5);
      expect(all).toHaveLength(Number(size));
      expect(new Set(all).size).toBe(Number(size));
    }
    expect(sampleIndices(10n, 50, 5)).toHaveLength(10);
  });

  it('is uniform: first draws of 4000 seeds fall evenly in 8 bands of a large space', () => {
    const size = 8n ** 8n * 1000n;
    const bands = new Array<number>(8).fill(0);
    for (let seed = 0; seed < 4000; seed++) bands[Number((sampleIndices(size, 1, seed)[0]! * 8n) / size)]!++;
    const chi2 = bands.reduce((s, n) => s + (n - 500) ** 2 / 500, 0);
    expect(chi2).toBeLessThan(24.3); // p = 0.001 for 7 degrees of freedom
  });
});

describe('compatibility with the first sampler', () => {
  it('builds the grid in the same order (the last key varies fastest)', () => {
    const parameters = { lr: [1, 2, 3], batchSize: [16, 32], act: ['relu', 'gelu'] };
    const ours = Array.from({ length: 12 }, (_, i) => searchPointAt(parameters, BigInt(i)));
    expect(JSON.stringify(ours)).toBe(JSON.stringify(firstGrid(parameters)));
    expect(expandTrials(sweep({ parameters })).map((t) => t.searchPoint)).toEqual([
      ...firstGrid(parameters),
      ...firstGrid(parameters),
    ]);
  });

  it.each([
    [{ learningRate: [1, 2, 3, 4, 5], dropout: [0.1, 0.2] }, 3, 1],
    [{ learningRate: [1, 2, 3, 4, 5], dropout: [0.1, 0.2] }, 10, 42],
    [decades(4), 25, 7],
    [{ a: [1, 2, 3, 4], b: ['x', 'y', 'z'], c: [true, false], d: [0.5] }, 9, -3],
  ])('keeps the trial list of a space within the legacy size (%#)', (parameters, samples, seed) => {
    const spec = sweep({ method: 'random', samples, seed, parameters });
    const trials = expandTrials(spec);
    for (const variant of ['cnn', 'mnv2']) {
      const expected = firstDraw(parameters, samples, seed ^ hashString(variant));
      expect(trials.filter((t) => t.variant === variant).map((t) => t.searchPoint)).toEqual(expected);
    }
  });
});
