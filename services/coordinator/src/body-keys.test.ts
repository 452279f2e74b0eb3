/**
 * Two holes the hostile-input suite found in the landed API: a `br` Content-Encoding over a body that
 * is not brotli answered 500, and `__proto__` inside params was silently dropped and the sweep stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { startTestApi, type TestApi } from './testing/harness.js';

const TOKEN = 'body-keys-token-0123456789';
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ prefix: 'body-keys', maxTrials: 10, models: FAKE_TRAINER_MODELS, tokens: [TOKEN] });
});
afterAll(() => api.close());

const spec = (params: string) =>
  `{"apiVersion":"fersweep/v1","kind":"Sweep","metadata":{"name":"keys"},"spec":{"dataset":"file:///x","variants":[{"name":"a","model":"cnn","params":${params}}]}}`;
const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${api.base}/v1/sweeps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });

describe('request bodies', () => {
  it('answers a br Content-Encoding over a body that is not brotli with 400 InvalidEncoding', async () => {
    const res = await post(spec(`{"stateDir":"${api.dir}"}`), { 'content-encoding': 'br' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'InvalidEncoding' });
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses %s as a key inside params, storing nothing',
    async (key) => {
      const res = await post(spec(`{"stateDir":"${api.dir}","${key}":{"polluted":"yes"}}`));
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ code: 'InvalidSpec', field: `spec.variants[0].params.${key}` });
      expect(
        (await fetch(`${api.base}/v1/sweeps/keys`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(404);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
