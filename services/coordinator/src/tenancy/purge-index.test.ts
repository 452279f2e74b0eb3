/**
 * Purge and retention keep the list index (tenancy/sweep-index.ts) true: a purged or expired sweep
 * leaves its tenant's list and the admin's, as it leaves the store — `GET /v1/sweeps` answers from
 * the in-memory index (O(page)), never from the store, so a missed removal would list it forever.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccess, tokenSha256 } from '@fersweep/observability';
import { startRetention } from '../retention.js';
import { FAKE_TRAINER_MODELS } from '../testing/fake-trainer-models.js';
import { fakeSweep } from '../testing/sweeps.js';
import { startTestApi, type TestApi } from '../testing/harness.js';

const TOKENS = {
  acme: 'acme-token-purge-0123456789',
  beta: 'beta-token-purge-0123456789',
  ops: 'ops-token-purge-0123',
};
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    prefix: 'purge-index',
    maxConcurrent: 2,
    maxTrials: 10,
    models: FAKE_TRAINER_MODELS,
    tokens: [],
    access: createAccess({
      legacyTokens: [],
      tenants: [
        { name: 'acme', admin: false, tokenSha256: [tokenSha256(TOKENS.acme)] },
        { name: 'beta', admin: false, tokenSha256: [tokenSha256(TOKENS.beta)] },
        { name: 'ops', admin: true, tokenSha256: [tokenSha256(TOKENS.ops)] },
      ],
    }),
  });
});
afterAll(() => api.close());

const call = async (token: string, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${api.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const submit = (token: string, name: string) =>
  call(token, 'POST', '/v1/sweeps', fakeSweep(name, api.dir, [{ name: 'a', params: { sleepMs: 10 } }]));
const listed = async (token: string, limit = 500) => {
  const r = await call(token, 'GET', `/v1/sweeps?limit=${limit}`);
  expect(r.status).toBe(200);
  return (r.body.items as { id: string }[]).map((s) => s.id);
};
async function finished(token: string, name: string) {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if ((await call(token, 'GET', `/v1/sweeps/${name}`)).body.phase === 'Succeeded') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not finish`);
}

describe('the tenant list index', () => {
  it('drops a purged sweep from its tenant’s list and the admin’s, and an expired one likewise', async () => {
    for (const name of ['one', 'two']) expect((await submit(TOKENS.acme, name)).status).toBe(201);
    expect((await submit(TOKENS.beta, 'one')).status).toBe(201);
    for (const name of ['one', 'two']) await finished(TOKENS.acme, name);
    await finished(TOKENS.beta, 'one');
    expect(await listed(TOKENS.acme)).toEqual(['one', 'two']);

    expect((await call(TOKENS.acme, 'DELETE', '/v1/sweeps/one?purge=true')).body).toMatchObject({ purged: true });
    expect(await listed(TOKENS.acme)).toEqual(['two']);
    expect(await listed(TOKENS.acme, 1)).toEqual(['two']);
    expect(await listed(TOKENS.beta)).toEqual(['one']); // another tenant's sweep of the same name stays
    expect((await listed(TOKENS.ops)).sort()).toEqual(['one--beta', 'two--acme']);

    // Retention: every finished sweep is older than 1 ms.
    await new Promise((r) => setTimeout(r, 5));
    const retention = startRetention({
      scheduler: api.scheduler,
      retentionMs: 1,
      logger: api.logger,
      intervalMs: 60_000,
    });
    try {
      const end = Date.now() + 20_000;
      while ((await api.scheduler.state.listSweeps()).length > 0 && Date.now() < end) await retention.sweep();
    } finally {
      await retention.stop();
    }
    expect(await listed(TOKENS.acme)).toEqual([]);
    expect(await listed(TOKENS.beta)).toEqual([]);
    expect(await listed(TOKENS.ops)).toEqual([]);
    const index = await api.scheduler.state.index();
    expect(index.size).toBe(0);
  }, 60_000);
});
