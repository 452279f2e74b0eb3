import { describe, expect, it } from '@jest/globals';
import { countTrials, expandTrials, SweepSpec } from './sweep.js';

const minimal = {
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name: 'cnn-vs-mobilenetv2' },
  spec: {
    dataset: 's3://fersweep/datasets/fer2013',
    variants: [
      { name: 'cnn', model: 'cnn', params: { width: 1 } },
      { name: 'mobilenetv2', model: 'mobilenetv2', params: { alpha: 1, inputSize: 96 } },
    ],
  },
};

describe('SweepSpec', () => {
  it('accepts a minimal spec and fills the defaults', () => {
    const s = SweepSpec.parse(minimal);
    expect(s.spec).toMatchObject({
      epochs: 100,
      batchSize: 64,
      seed: 42,
      parallelism: 4,
      retries: 3,
      resources: { gpu: 1 },
    });
  });
  it.each([
    ['no variants', { ...minimal, spec: { ...minimal.spec, variants: [] } }, 'spec.variants'],
    ['negative epochs', { ...minimal, spec: { ...minimal.spec, epochs: -1 } }, 'spec.epochs'],
    ['a bad name', { ...minimal, metadata: { name: 'Bad_Name' } }, 'metadata.name'],
    ['an unknown field', { ...minimal, spec: { ...minimal.spec, epoch: 3 } }, 'spec'],
    [
      'a duplicate variant',
      { ...minimal, spec: { ...minimal.spec, variants: [minimal.spec.variants[0], minimal.spec.variants[0]] } },
      'spec.variants.1.name',
    ],
    [
      'a deadline above 30 days',
      { ...minimal, spec: { ...minimal.spec, deadlineSeconds: 30 * 86_400 + 1 } },
      'spec.deadlineSeconds',
    ],
    [
      'a deadline above what a timer holds',
      { ...minimal, spec: { ...minimal.spec, deadlineSeconds: 2 ** 31 } },
      'spec.deadlineSeconds',
    ],
    [
      'random search without samples',
      { ...minimal, spec: { ...minimal.spec, search: { method: 'random', parameters: { learningRate: [1] } } } },
      'spec.search.samples',
    ],
  ])('rejects %s, naming the field', (_what, input, path) => {
    const r = SweepSpec.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('deadlineSeconds', () => {
  it('accepts up to 30 days', () => {
    expect(
      SweepSpec.parse({ ...minimal, spec: { ...minimal.spec, deadlineSeconds: 30 * 86_400 } }).spec.deadlineSeconds,
    ).toBe(2_592_000);
  });
});

describe('expandTrials', () => {
  it('is one trial per variant without a search', () => {
    const t = expandTrials(SweepSpec.parse(minimal));
    expect(t.map((x) => x.trial)).toEqual(['cnn', 'mobilenetv2']);
    expect(t[1]).toMatchObject({
      model: 'mobilenetv2',
      params: { alpha: 1, inputSize: 96 },
      epochs: 100,
      batchSize: 64,
    });
  });
  it('expands a grid over every variant: trial fields and model params', () => {
    const spec = SweepSpec.parse({
      ...minimal,
      spec: {
        ...minimal.spec,
        search: { method: 'grid', parameters: { learningRate: [0.001, 0.0003], batchSize: [32, 64] } },
      },
    });
    const t = expandTrials(spec);
    expect(countTrials(spec)).toBe(8);
    expect(t).toHaveLength(8);
    expect(t.map((x) => x.trial).slice(0, 4)).toEqual(['cnn-0', 'cnn-1', 'cnn-2', 'cnn-3']);
    expect(t.slice(0, 4).map((x) => [x.batchSize, x.params.learningRate])).toEqual([
      [32, 0.001],
      [32, 0.0003],
      [64, 0.001],
      [64, 0.0003],
    ]);
    expect(t[0]!.params).toEqual({ width: 1, learningRate: 0.001 });
  });
  it('draws distinct random points, deterministically by seed', () => {
    const spec = (seed: number) =>
      SweepSpec.parse({
        ...minimal,
        spec: {
          ...minimal.spec,
          search: {
            method: 'random',
            samples: 3,
            seed,
            parameters: { learningRate: [1, 2, 3, 4, 5], dropout: [0.1, 0.2] },
          },
        },
      });
    const a = expandTrials(spec(1));
    expect(a).toHaveLength(6);
    expect(expandTrials(spec(1))).toEqual(a);
    expect(expandTrials(spec(2))).not.toEqual(a);
    const cnnPoints = a.filter((x) => x.variant === 'cnn').map((x) => JSON.stringify(x.searchPoint));
    expect(new Set(cnnPoints).size).toBe(3);
    expect(countTrials(spec(1))).toBe(6);
  });
});
