import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SweepError } from './errors.js';
import { validateSweep } from './validate.js';

const sweep = (spec: Record<string, unknown>) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name: 'checked' },
  spec: {
    dataset: 's3://fersweep/datasets/fer2013',
    variants: [
      { name: 'cnn', model: 'cnn', params: { width: 0.5 } },
      { name: 'mnv2', model: 'mobilenetv2', params: { alpha: 0.35 } },
    ],
    ...spec,
  },
});

/** The InvalidSpec issues validateSweep throws for `input` (against the real model registry). */
function issuesOf(input: unknown): { field: string; message: string }[] {
  try {
    validateSweep(input, 1000);
  } catch (err) {
    expect(err).toBeInstanceOf(SweepError);
    expect((err as SweepError).code).toBe('InvalidSpec');
    return [...(err as SweepError).issues];
  }
  throw new Error('expected the sweep to be refused');
}

describe('validateSweep against the model registry', () => {
  it.each(readdirSync(join(process.cwd(), 'examples')).filter((f) => f.endsWith('.yaml')))(
    'accepts examples/%s',
    (file) => {
      const { plans } = validateSweep(parse(readFileSync(join(process.cwd(), 'examples', file), 'utf8')), 1000);
      expect(plans.length).toBeGreaterThan(0);
    },
  );

  it.each([
    [
      'an unknown model',
      { variants: [{ name: 'big', model: 'resnet9000' }] },
      'spec.variants[0].model',
      /unknown model 'resnet9000': use one of cnn, mobilenetv2/,
    ],
    [
      'an unknown param, naming the known ones',
      { variants: [{ name: 'cnn', model: 'cnn', params: { widht: 0.5 } }] },
      'spec.variants[0].params.widht',
      /unknown parameter of model 'cnn' \(known: width, blocks, /,
    ],
    [
      'an out-of-range value',
      { variants: [{ name: 'cnn', model: 'cnn', params: { width: 4 } }] },
      'spec.variants[0].params.width',
      /<=2/,
    ],
    [
      'an alpha keras publishes no weights for',
      {
        variants: [
          { name: 'cnn', model: 'cnn' },
          { name: 'm', model: 'mobilenetv2', params: { alpha: 0.3 } },
        ],
      },
      'spec.variants[1].params.alpha',
      /must be one of 0.35, 0.5, 0.75, 1, 1.3, 1.4/,
    ],
    [
      'an inputSize MobileNetV2 does not take',
      { variants: [{ name: 'm', model: 'mobilenetv2', params: { inputSize: 64 } }] },
      'spec.variants[0].params.inputSize',
      /must be one of 48, 96, 128/,
    ],
    [
      'an inputSize on a model that has none',
      { variants: [{ name: 'cnn', model: 'cnn', params: { inputSize: 96 } }] },
      'spec.variants[0].params.inputSize',
      /unknown parameter of model 'cnn'/,
    ],
    [
      'freezeBase without pretrained weights',
      { variants: [{ name: 'm', model: 'mobilenetv2', params: { freezeBase: true } }] },
      'spec.variants[0].params.freezeBase',
      /set params.pretrained or freezeBase: false/,
    ],
    ['a search epoch of 0', { search: { parameters: { epochs: [10, 0] } } }, 'spec.search.parameters.epochs[1]', />=1/],
    [
      'a search batchSize that is not a number',
      { search: { parameters: { batchSize: ['x'] } } },
      'spec.search.parameters.batchSize[0]',
      /expected number/,
    ],
    [
      'a search value outside the param’s range',
      { search: { parameters: { learningRate: [0.001, 3] } } },
      'spec.search.parameters.learningRate[1]',
      /<=1 \(model 'cnn'\)/,
    ],
    [
      'a searched param one of the variants’ models does not have',
      { search: { parameters: { alpha: [0.35, 0.5] } } },
      'spec.search.parameters.alpha',
      /not a parameter of model 'cnn' \(variant 'cnn'\), and a search sets its parameters on every variant/,
    ],
    [
      'a searched freezeBase where the variant has no pretrained weights',
      {
        variants: [{ name: 'm', model: 'mobilenetv2' }],
        search: { parameters: { freezeBase: [false, true] } },
      },
      'spec.search.parameters.freezeBase',
      /set params.pretrained or freezeBase: false \(trial m-1: freezeBase=true\)/,
    ],
  ])('refuses %s, naming the field and what is allowed', (_what, spec, field, message) => {
    const issues = issuesOf(sweep(spec));
    expect(issues[0]?.field).toBe(field);
    expect(issues[0]?.message).toMatch(message);
  });

  it('accepts a combination that only the search makes valid (freezeBase with a searched pretrained)', () => {
    const { plans } = validateSweep(
      sweep({
        variants: [{ name: 'm', model: 'mobilenetv2', params: { freezeBase: true } }],
        search: { parameters: { pretrained: ['s3://w/a', 's3://w/b'] } },
      }),
      1000,
    );
    expect(plans.map((p) => p.params)).toEqual([
      { freezeBase: true, pretrained: 's3://w/a' },
      { freezeBase: true, pretrained: 's3://w/b' },
    ]);
  });

  it('lists every problem, not just the first, with the first as the error field', () => {
    try {
      validateSweep(
        sweep({
          variants: [
            { name: 'a', model: 'resnet9000' },
            { name: 'b', model: 'cnn', params: { width: 0.5 } },
          ],
          search: { parameters: { epochs: [0], batchSize: ['x', 32] } },
        }),
        1000,
      );
      throw new Error('expected a SweepError');
    } catch (err) {
      const e = err as SweepError;
      expect(e.field).toBe('spec.variants[0].model');
      expect(e.issues.map((i) => i.field)).toEqual([
        'spec.variants[0].model',
        'spec.search.parameters.epochs[0]',
        'spec.search.parameters.batchSize[0]',
      ]);
      expect(e.message).toMatch(/^3 problems: spec.variants\[0\].model: unknown model/);
    }
  });

  it('checks a huge search value by value, without building its product', () => {
    // 40 values in each of 6 lists: 40⁶ ≈ 4·10⁹ combinations, which no check may enumerate.
    const values = Array.from({ length: 40 }, (_, i) => 0.2 + i / 100);
    const parameters: Record<string, number[]> = Object.fromEntries(
      ['learningRate', 'dropout', 'denseDropout', 'l2', 'width', 'batchNormMomentum'].map((k) => [k, [...values]]),
    );
    const huge = (p: Record<string, number[]>) =>
      sweep({ variants: [{ name: 'cnn', model: 'cnn' }], search: { parameters: p } });
    expect(issuesOf(huge({ ...parameters, dropout: [...values.slice(0, 39), 0.95] }))).toEqual([
      { field: 'spec.search.parameters.dropout[39]', message: "Too big: expected number to be <=0.9 (model 'cnn')" },
    ]);
    expect(() => validateSweep(huge(parameters), 1000)).toThrow(/expands to 4096000000 trials, more than the 1000/);
  });
});

describe('validateSweep: declared ranges, TPE and replicates', () => {
  it("checks a range's bounds against every variant's field, and names the bound", () => {
    expect(
      issuesOf(
        sweep({
          search: {
            method: 'tpe',
            samples: 10,
            parameters: {
              learningRate: { type: 'float', min: 1e-5, max: 2, log: true },
              dropout: { type: 'float', min: 0, max: 0.95 },
              batchSize: { type: 'float', min: 16, max: 128 },
            },
          },
        }),
      ).map((i) => i.field),
    ).toEqual([
      'spec.search.parameters.batchSize.type',
      // Each model refuses it (message: "… (model 'cnn')", "… (model 'mobilenetv2')").
      'spec.search.parameters.learningRate.max',
      'spec.search.parameters.dropout.max',
      'spec.search.parameters.learningRate.max',
      'spec.search.parameters.dropout.max',
    ]);
  });

  it('refuses a grid over a continuous range, saying what to do', () => {
    expect(
      issuesOf(sweep({ search: { parameters: { learningRate: { type: 'float', min: 1e-4, max: 1e-2, log: true } } } })),
    ).toEqual([
      {
        field: 'spec.search.parameters.learningRate',
        message:
          'learningRate: grid search needs a finite set of values: give the float range a step, list the values, or use method random or tpe',
      },
    ]);
  });

  it('counts replicates against the trial limit', () => {
    const big = sweep({ replicates: 10, search: { method: 'tpe', samples: 60, parameters: { dropout: [0.1, 0.2] } } });
    expect(() => validateSweep(big, 1000)).toThrow(/expands to 1200 trials, more than the 1000 allowed/);
    expect(validateSweep(big, 1200).plans).toHaveLength(1200);
  });
});
