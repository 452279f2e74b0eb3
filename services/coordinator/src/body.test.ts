import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { startTestApi, type TestApi } from './testing/harness.js';

let api: TestApi;
let port: number;

beforeAll(async () => {
  api = await startTestApi({
    prefix: 'body',
    command: [process.execPath, '-e', 'process.exit(0)'],
    maxTrials: 10,
    // Body limits are under test, not params: any params object is a valid `cnn` here.
    models: { cnn: z.record(z.string(), z.unknown()) },
    tokens: ['tok'],
    bodyLimit: '4mb',
  });
  port = Number(new URL(api.base).port);
});
afterAll(() => api.close());

/** POST with raw headers and body (fetch would refuse or rewrite some of them). */
function post(headers: Record<string, string>, body: Buffer | string) {
  return new Promise<{ status: number; body: { code?: string; detail?: string } }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/sweeps',
        method: 'POST',
        headers: { authorization: 'Bearer tok', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as { code?: string }) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sweep = (params: unknown) =>
  JSON.stringify({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'deep' },
    spec: { dataset: 'file:///d', variants: [{ name: 'a', model: 'cnn', params }] },
  });
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('request bodies', () => {
  it.each([
    ['an unknown Content-Encoding', { 'content-encoding': 'x-garbage' }, 415, 'UnsupportedEncoding'],
    ['a body that is not the gzip it claims', { 'content-encoding': 'gzip' }, 400, 'InvalidEncoding'],
    ['a body that is not the deflate it claims', { 'content-encoding': 'deflate' }, 400, 'InvalidEncoding'],
    ['an unknown charset', { 'content-type': 'application/json; charset=x-klingon' }, 415, 'UnsupportedCharset'],
  ])('%s is a 4xx problem with a stable code, and the server stays healthy', async (_w, headers, status, code) => {
    const r = await post({ 'content-type': 'application/json', ...headers }, sweep({}));
    expect([r.status, r.body.code]).toEqual([status, code]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await api.scheduler.state.listSweeps()).length).toBe(0);
  });

  it('refuses a YAML body over 256 KiB with 413 PayloadTooLarge before parsing it; JSON keeps its own limit', async () => {
    // A flat mapping: ~300 KB of `kN: v` lines (the landed tree parsed 1 MB of it for ~8 s, blocking the loop).
    const flat = Array.from({ length: 30_000 }, (_, i) => `k${i}: v`).join('\n');
    const yaml = await post({ 'content-type': 'application/yaml' }, flat);
    expect([yaml.status, yaml.body.code]).toEqual([413, 'PayloadTooLarge']);
    expect(yaml.body.detail).toMatch(/YAML body is larger than 256kb: send the sweep as JSON \(up to 4mb\)/);
    const params = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, 'v']));
    const json = await post({ 'content-type': 'application/json' }, sweep(params).replace('"cnn"', '"no-such-model"'));
    expect([json.status, json.body.code]).toEqual([422, 'InvalidSpec']); // parsed: not a size error
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await api.scheduler.state.listSweeps()).length).toBe(0);
  });

  it('decodes a gzip body, then validates it (422 for a non-sweep)', async () => {
    const r = await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync('{"x":1}'));
    expect(r.status).toBe(422);
  });

  it.each([
    ['objects in params (JSON)', 'application/json', sweep({}).replace('"params":{}', `"params":${nested(200_000)}`)],
    [
      'arrays in params (JSON)',
      'application/json',
      sweep({}).replace('"params":{}', `"params":{"x":${nestedArrays(200_000)}}`),
    ],
    // YAML cases stay under the 256 KiB YAML limit, so that the depth check is what refuses them.
    ['flow sequences (YAML)', 'application/yaml', `x: ${nestedArrays(120_000)}`],
    [
      'block mappings (YAML)',
      'application/yaml',
      Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    ],
    [
      'block mappings just past the limit (YAML)',
      'application/yaml',
      Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    ],
    [
      'objects just past the limit (JSON)',
      'application/json',
      sweep({}).replace('"params":{}', `"params":${nested(70)}`),
    ],
  ])('nesting of %s is refused with 400 TooDeep', async (_w, type, body) => {
    const r = await post({ 'content-type': type }, body);
    expect([r.status, r.body.code]).toEqual([400, 'TooDeep']);
    expect((await api.scheduler.state.listSweeps()).length).toBe(0);
  });

  it('accepts params nested within the limit, as JSON and as YAML', async () => {
    const r = await post(
      { 'content-type': 'application/json' },
      sweep({})
        .replace('"deep"', '"within"')
        .replace('"params":{}', `"params":${nested(50)}`),
    );
    expect(r.status).toBe(201);
    const yaml = await post(
      { 'content-type': 'application/yaml' },
      `apiVersion: fersweep/v1\nkind: Sweep\nmetadata: {name: within}\nspec:\n  dataset: file:///d\n  variants:\n  - {name: a, model: cnn, params: ${nested(50)}}\n`,
    );
    expect(yaml.status).toBe(200); // the same sweep again
  });
});
