import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { sweepBudget } from './budget.js';
import { replicateSeed } from './search-spec.js';
import { checkSweepValues, specIssues } from './sweep-check.js';
import { countTrials, expandTrials, SweepSpec, type SweepSpecInput } from './sweep.js';

type Spec = Partial<SweepSpecInput['spec']>;
const input = (spec: Spec) => ({
  apiVersion: 'fersweep/v1' as const,
  kind: 'Sweep' as const,
  metadata: { name: 's' },
  spec: { dataset: 'file:///d', variants: [{ name: 'a', model: 'toy' }], ...spec },
});
const sweep = (spec: Spec) => SweepSpec.parse(input(spec));
const issues = (spec: Record<string, unknown>) => {
  const r = SweepSpec.safeParse(input(spec as Spec));
  return r.success ? [] : specIssues(r.error);
};

// A stand-in registry (the real one is @fersweep/models'): an int, a bounded float, a boolean.
const models = {
  toy: z
    .object({
      size: z.number().int().min(1).max(8).default(1),
      rate: z.number().gt(0).max(1).default(0.1),
      big: z.boolean().default(false),
    })
    .strict(),
};

describe('search parameter declarations', () => {
  it('plain lists stay categoricals and expand exactly as before; stepped ranges join the grid', () => {
    const lists = sweep({ search: { parameters: { rate: [0.1, 0.2], size: [1, 2] } } });
    expect(lists.spec.search!.parameters.rate).toEqual([0.1, 0.2]); // parsed as given: same spec hash as before
    expect(expandTrials(lists).map((t) => [t.trial, t.searchPoint])).toEqual([
      ['a-0', { rate: 0.1, size: 1 }],
      ['a-1', { rate: 0.1, size: 2 }],
      ['a-2', { rate: 0.2, size: 1 }],
      ['a-3', { rate: 0.2, size: 2 }],
    ]);
    const ranges = sweep({
      search: { parameters: { rate: { type: 'float', min: 0.1, max: 0.3, step: 0.1 }, size: [1, 2] } },
    });
    expect(countTrials(ranges)).toBe(6);
    expect(expandTrials(ranges).map((t) => t.params.rate)).toEqual([0.1, 0.1, 0.2, 0.2, 0.3, 0.3]);
  });

  it('refuses a grid over a range without step, naming the parameter and what to do', () => {
    expect(issues({ search: { parameters: { rate: { type: 'float', min: 0.001, max: 0.1, log: true } } } })).toEqual([
      {
        field: 'spec.search.parameters.rate',
        message:
          'rate: grid search needs a finite set of values: give the float range a step, list the values, or use method random or tpe',
      },
    ]);
  });

  it("reports a bad declaration's own fields, not a bare union failure", () => {
    expect(
      issues({ search: { method: 'tpe', samples: 2, parameters: { rate: { type: 'float', min: 1, max: 0.1 } } } }),
    ).toEqual([{ field: 'spec.search.parameters.rate.max', message: 'max (0.1) must exceed min (1)' }]);
    expect(issues({ search: { parameters: { rate: { type: 'normal' } } } })[0]!.field).toBe(
      'spec.search.parameters.rate.type',
    );
    expect(issues({ search: { parameters: { rate: 3 } } })).toEqual([
      {
        field: 'spec.search.parameters.rate',
        message: 'a list of values, or a declaration { type: float | int | categorical, ... }',
      },
    ]);
    expect(issues({ search: { method: 'tpe', parameters: { rate: [0.1] } } })).toEqual([
      { field: 'spec.search.samples', message: 'tpe search needs samples' },
    ]);
    expect(
      issues({ search: { method: 'tpe', samples: 4, parameters: { epochs: { type: 'int', min: 1, max: 9 } } } }),
    ).toEqual([
      {
        field: 'spec.search.parameters.epochs',
        message: 'epochs cannot be a TPE parameter: every configuration of every variant gets the same epoch budget',
      },
    ]);
    expect(issues({ replicates: 11 })[0]!.field).toBe('spec.replicates');
  });

  it('checks range bounds against the field each parameter sets, with field paths', () => {
    const s = sweep({
      search: {
        method: 'tpe',
        samples: 5,
        parameters: {
          rate: { type: 'float', min: 0.001, max: 2, log: true },
          size: { type: 'float', min: 1, max: 8 },
          batchSize: { type: 'int', min: 0, max: 64 },
          big: { type: 'categorical', values: [true, 'yes'] },
        },
      },
    });
    expect(checkSweepValues(s, models)).toEqual([
      {
        field: 'spec.search.parameters.batchSize.min',
        message: 'Too small: expected number to be >=1',
      },
      { field: 'spec.search.parameters.rate.max', message: "Too big: expected number to be <=1 (model 'toy')" },
      {
        field: 'spec.search.parameters.size.type',
        message: `Invalid input: expected int, received number (model 'toy') (${
          1 + 0.381966 * 7
        } is inside the declared range: declare an int range, or list the values)`,
      },
      {
        field: 'spec.search.parameters.big.values[1]',
        message: "Invalid input: expected boolean, received string (model 'toy')",
      },
    ]);
    const ok = sweep({
      search: { method: 'random', samples: 3, parameters: { size: { type: 'int', min: 1, max: 8, step: 1 } } },
    });
    expect(checkSweepValues(ok, models)).toEqual([]);
  });
});

describe('random search over ranges', () => {
  it('draws samples points per variant inside the ranges, deterministic for a seed', () => {
    const spec = (seed: number) =>
      sweep({
        variants: [
          { name: 'a', model: 'toy' },
          { name: 'b', model: 'toy' },
        ],
        search: {
          method: 'random',
          samples: 20,
          seed,
          parameters: {
            rate: { type: 'float', min: 1e-4, max: 1e-1, log: true },
            size: { type: 'int', min: 1, max: 8 },
          },
        },
      });
    const t = expandTrials(spec(1));
    expect(countTrials(spec(1))).toBe(40);
    expect(t).toHaveLength(40);
    for (const p of t) {
      expect(p.params.rate).toBeGreaterThanOrEqual(1e-4);
      expect(p.params.rate).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(p.params.size)).toBe(true);
    }
    expect(expandTrials(spec(1))).toEqual(t);
    expect(expandTrials(spec(2))).not.toEqual(t);
    expect(new Set(t.map((p) => p.params.rate)).size).toBe(40);
  });
});

describe('TPE placeholders', () => {
  it('plans samples trials per variant whose points are suggested at launch', () => {
    const s = sweep({
      variants: [
        { name: 'a', model: 'toy', params: { big: true } },
        { name: 'b', model: 'toy' },
      ],
      search: { method: 'tpe', samples: 12, parameters: { rate: { type: 'float', min: 0.01, max: 1 } } },
    });
    const t = expandTrials(s);
    expect(countTrials(s)).toBe(24);
    expect(t.map((p) => p.trial).slice(0, 3)).toEqual(['a-00', 'a-01', 'a-02']);
    expect(t[0]).toMatchObject({ params: { big: true }, searchPoint: {}, configuration: 0, suggested: true });
    expect(t[23]).toMatchObject({ trial: 'b-11', configuration: 11 });
  });
});

describe('replicates', () => {
  it('trains each configuration with k seeds: readable ids, replicate 0 keeps the seed, the others derived', () => {
    const s = sweep({ seed: 7, replicates: 3, search: { parameters: { size: [1, 2] } } });
    const t = expandTrials(s);
    expect(countTrials(s)).toBe(6);
    expect(t.map((p) => [p.trial, p.configuration, p.replicate, p.params.size])).toEqual([
      ['a-0-r0', 0, 0, 1],
      ['a-0-r1', 0, 1, 1],
      ['a-0-r2', 0, 2, 1],
      ['a-1-r0', 1, 0, 2],
      ['a-1-r1', 1, 1, 2],
      ['a-1-r2', 1, 2, 2],
    ]);
    expect(t.map((p) => p.seed)).toEqual([
      7,
      replicateSeed(7, 1),
      replicateSeed(7, 2),
      7,
      replicateSeed(7, 1),
      replicateSeed(7, 2),
    ]);
    expect(new Set(t.map((p) => p.seed)).size).toBe(3);
    // Without a search: <variant>-r<r>; a seed search point is replicated from the point's own seed.
    expect(expandTrials(sweep({ replicates: 2 })).map((p) => p.trial)).toEqual(['a-r0', 'a-r1']);
    const seeds = expandTrials(sweep({ replicates: 2, search: { parameters: { seed: [1, 2] } } })).map((p) => p.seed);
    expect(seeds).toEqual([1, replicateSeed(1, 1), 2, replicateSeed(2, 1)]);
    // One replicate: ids, seeds and the spec are exactly those of a sweep without the field.
    expect(expandTrials(sweep({ replicates: 1 }))[0]).toEqual(expandTrials(sweep({}))[0]);
  });

  it('derives seeds deterministically: non-negative 31-bit, distinct over many seeds and replicates', () => {
    const all = new Set<number>();
    for (let seed = 0; seed < 200; seed++)
      for (let r = 1; r < 10; r++) {
        const v = replicateSeed(seed, r);
        expect(v).toBe(replicateSeed(seed, r));
        expect(v >= 0 && v < 2 ** 31 && Number.isInteger(v)).toBe(true);
        all.add(v);
      }
    expect(all.size).toBe(1800);
  });
});

describe('sweepBudget', () => {
  it('records what each variant is given and whether it is equal; selection is on validation', () => {
    const s = sweep({
      epochs: 5,
      replicates: 2,
      variants: [
        { name: 'a', model: 'toy' },
        { name: 'b', model: 'toy' },
      ],
      search: {
        method: 'tpe',
        samples: 3,
        metric: 'valLoss',
        parameters: { rate: { type: 'float', min: 0.01, max: 1 } },
      },
    });
    expect(sweepBudget(s, expandTrials(s))).toEqual({
      method: 'tpe',
      replicates: 2,
      epochsPerTrial: 5,
      variants: [
        { variant: 'a', configurations: 3, trials: 6, epochs: 30 },
        { variant: 'b', configurations: 3, trials: 6, epochs: 30 },
      ],
      equal: true,
      selection: { split: 'val', metric: 'valLoss', mode: 'min' },
    });
    // Random search over epochs draws different budgets per variant: recorded as unequal.
    const r = sweep({
      variants: [
        { name: 'a', model: 'toy' },
        { name: 'b', model: 'toy' },
      ],
      search: { method: 'random', samples: 3, parameters: { epochs: { type: 'int', min: 1, max: 100 } } },
    });
    const b = sweepBudget(r, expandTrials(r));
    expect([b.equal, b.epochsPerTrial, b.selection.metric]).toEqual([false, null, 'valAccuracy']);
  });
});
