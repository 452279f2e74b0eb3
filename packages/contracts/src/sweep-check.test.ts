import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { expandTrials, SweepSpec } from './sweep.js';
import { checkSweepValues, checkTrialParams, fieldPath, MAX_SPEC_ISSUES } from './sweep-check.js';

// A stand-in registry: the real one lives in @fersweep/models, which contracts does not depend on.
const models = {
  toy: z
    .object({ size: z.number().int().min(1).max(8).default(1), big: z.boolean().default(false) })
    .strict()
    .refine((p) => !p.big || p.size >= 4, { message: 'big needs size ≥ 4', path: ['big'] }),
};

const sweep = (spec: Record<string, unknown>) =>
  SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 's' },
    spec: { dataset: 'file:///d', variants: [{ name: 'a', model: 'toy' }], ...spec },
  });

describe('fieldPath', () => {
  it('writes indices in brackets and quotes keys that are not identifiers', () => {
    expect(fieldPath(['spec', 'variants', 1, 'params', 'alpha'])).toBe('spec.variants[1].params.alpha');
    expect(fieldPath(['spec', 'search', 'parameters', 'a.b', 0])).toBe('spec.search.parameters["a.b"][0]');
  });
});

describe('checking a sweep against param schemas', () => {
  it('judges rules between fields on the trials that will run, naming the search point', () => {
    const s = sweep({ search: { parameters: { big: [false, true], size: [2, 4] } } });
    expect(checkSweepValues(s, models)).toEqual([]);
    expect(checkTrialParams(s, models, expandTrials(s))).toEqual([
      { field: 'spec.search.parameters.big', message: 'big needs size ≥ 4 (trial a-2: big=true, size=2)' },
    ]);
  });

  it('bounds the number of issues it reports', () => {
    const s = sweep({ search: { parameters: { size: Array.from({ length: 100 }, (_, i) => 100 + i) } } });
    expect(checkSweepValues(s, models)).toHaveLength(MAX_SPEC_ISSUES);
  });
});
