/**
 * POST /v1/sweeps checks a sweep completely against the real model registry before it stores or
 * starts anything (issue 11 part 2): an unknown model answered 201 and failed later; a bad search
 * value answered 500.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openApiDocument } from './app.js';
import { startTestApi, type TestApi } from './testing/harness.js';

let api: TestApi;
let dir: string;
let base: string;
const launched: string[] = [];

beforeAll(async () => {
  // No `models`: the scheduler checks against the model registry's own schemas.
  api = await startTestApi({ prefix: 'submit-check', maxConcurrent: 2, maxTrials: 100, tokens: [] });
  ({ dir, base } = api);
  const launch = api.launcher.launch.bind(api.launcher);
  api.launcher.launch = (spec, options) => {
    launched.push(`${spec.sweep}/${spec.trial}`);
    return launch(spec, options);
  };
});
afterAll(() => api.close());

const sweep = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name },
  spec: {
    dataset: 's3://fersweep/datasets/fer2013',
    epochs: 1,
    variants: [{ name: 'cnn', model: 'cnn', params: { width: 0.25 } }],
    ...spec,
  },
});

interface Problem {
  code: string;
  detail: string;
  field?: string;
  errors?: { field: string; detail: string }[];
}

describe('POST /v1/sweeps against the model registry', () => {
  it.each([
    [
      'whose variant is an unknown model',
      sweep('bad-model', { variants: [{ name: 'big', model: 'resnet9000' }] }),
      'spec.variants[0].model',
      "unknown model 'resnet9000': use one of cnn, mobilenetv2",
    ],
    [
      'with an unknown param',
      sweep('bad-param', { variants: [{ name: 'cnn', model: 'cnn', params: { widht: 0.5 } }] }),
      'spec.variants[0].params.widht',
      "unknown parameter of model 'cnn' (known: width, blocks, denseUnits, dropout, denseDropout, learningRate, l2, batchNormMomentum)",
    ],
    [
      'searching epochs 0',
      sweep('bad-epochs', { search: { parameters: { epochs: [0] } } }),
      'spec.search.parameters.epochs[0]',
      'Too small: expected number to be >=1',
    ],
    [
      'searching a batchSize that is not a number',
      sweep('bad-batch', { search: { parameters: { batchSize: ['x'] } } }),
      'spec.search.parameters.batchSize[0]',
      'Invalid input: expected number, received string',
    ],
    [
      'freezing a MobileNetV2 base without pretrained weights',
      sweep('bad-freeze', {
        variants: [
          { name: 'cnn', model: 'cnn' },
          { name: 'm', model: 'mobilenetv2', params: { alpha: 0.35, freezeBase: true } },
        ],
      }),
      'spec.variants[1].params.freezeBase',
      'freezing a randomly initialised base trains only the head: set params.pretrained or freezeBase: false',
    ],
    [
      'whose ASHA first rung is not below the epoch budget',
      sweep('bad-rung', { epochs: 3, scheduler: { policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 3 } }),
      'spec.scheduler.minEpochs',
      "minEpochs (3) must be below the sweep's epochs (3): ASHA's first rung sits inside the budget",
    ],
    [
      'whose scheduler metric is not an epoch metric',
      sweep('bad-metric', { epochs: 9, scheduler: { policy: 'median', metric: 'testAccuracy', mode: 'max' } }),
      'spec.scheduler.metric',
      'Invalid option: expected one of "valAccuracy"|"valLoss"|"accuracy"|"loss"',
    ],
    [
      'searching epochs with a scheduler',
      sweep('bad-sched-epochs', {
        epochs: 9,
        search: { parameters: { epochs: [4, 9] } },
        scheduler: { policy: 'asha', metric: 'valLoss', mode: 'min' },
      }),
      'spec.search.parameters.epochs',
      'epochs cannot be a search parameter with a scheduler: the scheduler compares trials over one epoch budget',
    ],
  ])('refuses a sweep %s with 422 naming the field, and creates no trial', async (_what, body, field, message) => {
    const res = await fetch(`${base}/v1/sweeps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const p = (await res.json()) as Problem;
    expect(p).toMatchObject({ code: 'InvalidSpec', field, detail: `${field}: ${message}` });
    expect(p.errors).toEqual([{ field, detail: message }]);

    expect((await fetch(`${base}/v1/sweeps/${body.metadata.name}`)).status).toBe(404);
    expect(launched).toEqual([]);
    await expect(readdir(join(dir, 'store'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers every problem of a spec at once, in `errors`', async () => {
    const res = await fetch(`${base}/v1/sweeps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        sweep('bad-many', {
          variants: [{ name: 'big', model: 'resnet9000' }],
          search: { parameters: { epochs: [0, 5], batchSize: ['x'] } },
        }),
      ),
    });
    const p = (await res.json()) as Problem;
    expect(res.status).toBe(422);
    expect(p.errors?.map((e) => e.field)).toEqual([
      'spec.variants[0].model',
      'spec.search.parameters.epochs[0]',
      'spec.search.parameters.batchSize[0]',
    ]);
  });

  it('documents the errors of a 422 in the OpenAPI document', () => {
    const doc = openApiDocument();
    expect(doc.components.schemas.Problem.properties).toHaveProperty('errors');
    expect(doc.paths['/v1/sweeps'].post.responses['422'].description).toMatch(/InvalidSpec/);
  });
});
