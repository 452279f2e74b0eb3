import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { fakeSweep } from './testing/sweeps.js';
import { startTestApi, type TestApi } from './testing/harness.js';

const TOKEN = 's3cr3t-token';
let api: TestApi;
let dir: string;
let base: string;

beforeAll(async () => {
  api = await startTestApi({
    prefix: 'api',
    maxConcurrent: 4,
    killGraceMs: 2000,
    maxTrials: 10,
    models: FAKE_TRAINER_MODELS,
    tokens: [TOKEN, 'other'],
    bodyLimit: '64kb',
  });
  ({ dir, base } = api);
});
afterAll(() => api.close());

const auth = { authorization: `Bearer ${TOKEN}` };
const spec = (name: string, extra: Record<string, unknown> = {}) =>
  fakeSweep(
    name,
    dir,
    [
      { name: 'cnn', params: { sleepMs: 100 } },
      { name: 'mnv2', model: 'mobilenetv2', params: { sleepMs: 100 } },
    ],
    extra,
  );
const post = (body: unknown, headers: Record<string, string> = {}, type = 'application/json') =>
  fetch(`${base}/v1/sweeps`, {
    method: 'POST',
    headers: { ...auth, 'content-type': type, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  const body = (await res.json()) as { code: string; detail: string; field?: string };
  expect(body.code).toBe(code);
  return body;
}

describe('coordinator API', () => {
  it('requires a bearer token on /v1 but not on health endpoints', async () => {
    await expectProblem(await fetch(`${base}/v1/sweeps`), 401, 'Unauthorized');
    await expectProblem(
      await fetch(`${base}/v1/sweeps`, { headers: { authorization: 'Bearer wrong' } }),
      401,
      'Unauthorized',
    );
    expect((await fetch(`${base}/v1/sweeps`, { headers: { authorization: 'Bearer other' } })).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('creates a sweep (201), returns it again for the same spec (200), refuses another spec under its name (409)', async () => {
    const created = await post(spec('api-one'));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/sweeps/api-one');
    const body = (await created.json()) as { id: string; trials: { trial: string; phase: string }[] };
    expect(body.id).toBe('api-one');
    expect(body.trials.map((t) => t.trial)).toEqual(['cnn', 'mnv2']);
    expect((await post(spec('api-one'))).status).toBe(200);
    const conflict = await expectProblem(await post(spec('api-one', { epochs: 3 })), 409, 'Conflict');
    expect(conflict.field).toBe('metadata.name');
  });

  it('accepts YAML', async () => {
    const res = await post(stringify(spec('api-yaml')), {}, 'application/yaml');
    expect(res.status).toBe(201);
  });

  it.each([
    ['an invalid spec', () => post(spec('api-bad', { epochs: -5 })), 422, 'InvalidSpec', 'spec.epochs'],
    ['an unknown field', () => post({ ...spec('api-bad2'), extra: 1 }), 422, 'InvalidSpec', 'extra'],
    ['malformed YAML', () => post('spec: [unclosed', {}, 'application/yaml'), 422, 'InvalidYaml', undefined],
    ['malformed JSON', () => post('{"a":', {}), 400, 'InvalidJson', undefined],
    [
      'an oversized body',
      () => post({ ...spec('api-big'), pad: 'x'.repeat(70_000) }),
      413,
      'PayloadTooLarge',
      undefined,
    ],
    ['another content type', () => post('hello', {}, 'text/plain'), 415, 'UnsupportedMediaType', undefined],
    [
      'a grid larger than FERSWEEP_MAX_TRIALS',
      () =>
        post(
          spec('api-grid', {
            search: { method: 'grid', parameters: { seed: [1, 2, 3], sleepMs: [10, 20] } },
          }),
        ),
      422,
      'TooManyTrials',
      'spec.search',
    ],
  ])('refuses %s with a problem+json and creates nothing', async (_what, send, status, code, field) => {
    const p = await expectProblem(await send(), status, code);
    if (field !== undefined) expect(p.field).toBe(field);
    const list = (await (await fetch(`${base}/v1/sweeps?limit=500`, { headers: auth })).json()) as {
      items: { id: string }[];
    };
    expect(list.items.map((s) => s.id).filter((id) => /bad|big|grid/.test(id))).toEqual([]);
  });

  it('shows a sweep with every trial, lists sweeps page by page, and cancels', async () => {
    await post(spec('api-watch'));
    let sweep: { phase: string; trials: { phase: string; attempts: number }[] } = { phase: '', trials: [] };
    for (let i = 0; i < 100 && sweep.phase !== 'Succeeded'; i++) {
      sweep = (await (await fetch(`${base}/v1/sweeps/api-watch`, { headers: auth })).json()) as typeof sweep;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sweep.phase).toBe('Succeeded');
    expect(sweep.trials.every((t) => t.phase === 'Succeeded' && t.attempts === 1)).toBe(true);

    const page1 = (await (await fetch(`${base}/v1/sweeps?limit=2`, { headers: auth })).json()) as {
      items: unknown[];
      continue?: string;
    };
    expect(page1.items).toHaveLength(2);
    expect(page1.continue).toEqual(expect.any(String));
    const page2 = (await (
      await fetch(`${base}/v1/sweeps?limit=2&continue=${page1.continue}`, { headers: auth })
    ).json()) as { items: unknown[] };
    expect(page2.items.length).toBeGreaterThan(0);

    const logs = await fetch(`${base}/v1/sweeps/api-watch/trials/cnn/logs`, { headers: auth });
    expect(await logs.text()).toMatch(/attempt 1 of cnn/);

    await post(
      spec('api-cancel', { variants: [{ name: 'slow', model: 'cnn', params: { stateDir: dir, sleepMs: 30_000 } }] }),
    );
    const del = await fetch(`${base}/v1/sweeps/api-cancel`, { method: 'DELETE', headers: auth });
    expect(((await del.json()) as { phase: string }).phase).toBe('Cancelled');
  });

  it('answers 404 problem+json for an unknown sweep, trial or endpoint', async () => {
    await expectProblem(await fetch(`${base}/v1/sweeps/nope`, { headers: auth }), 404, 'NotFound');
    await expectProblem(await fetch(`${base}/v1/sweeps/NOT..valid`, { headers: auth }), 404, 'NotFound');
    await expectProblem(await fetch(`${base}/v1/sweeps/api-one/trials/zzz/logs`, { headers: auth }), 404, 'NotFound');
    await expectProblem(await fetch(`${base}/v2/x`, { headers: auth }), 404, 'NotFound');
  });

  it('publishes an OpenAPI 3.1 document generated from the contracts, and metrics', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: { SweepSpec: { properties: Record<string, unknown> } } };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/sweeps', '/v1/sweeps/{id}', '/v1/sweeps/{id}/trials/{trial}/logs']),
    );
    expect(Object.keys(doc.components.schemas.SweepSpec.properties)).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'spec',
    ]);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/fersweep_sweeps\{phase="Succeeded"\} \d+/);
    expect(text).toMatch(/fersweep_api_request_duration_seconds_bucket/);
  });
});
