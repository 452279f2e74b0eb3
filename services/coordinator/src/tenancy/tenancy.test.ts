/**
 * Tenants at the coordinator API (issue 12, item 8): tokens map to tenants, a sweep belongs to its
 * tenant (others get the 404 of a missing sweep and never see it listed), two tenants can use one
 * name, admins see everything, and FERSWEEP_API_TOKENS keeps working as the default tenant's admins.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccess, tokenSha256 } from '@fersweep/observability';
import { FAKE_TRAINER_MODELS } from '../testing/fake-trainer-models.js';
import { fakeSweep } from '../testing/sweeps.js';
import { startTestApi, startTestScheduler, type TestApi } from '../testing/harness.js';
import { PolicyError } from './policy.js';

const TOKENS = { acme: 'acme-token-0123456789abcdef', beta: 'beta-token-0123456789abcdef', ops: 'ops-token-0123' };
const LEGACY = 'legacy-token-0123456789';
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({
    prefix: 'tenancy',
    maxConcurrent: 2,
    killGraceMs: 500,
    maxTrials: 10,
    models: FAKE_TRAINER_MODELS,
    tokens: [LEGACY],
    access: createAccess({
      legacyTokens: [LEGACY],
      tenants: [
        { name: 'acme', admin: false, tokenSha256: [tokenSha256(TOKENS.acme)] },
        { name: 'beta', admin: false, tokenSha256: [tokenSha256(TOKENS.beta)] },
        { name: 'ops', admin: true, tokenSha256: [tokenSha256(TOKENS.ops)] },
      ],
    }),
  });
});
afterAll(() => api.close());

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const spec = (name: string, params: Record<string, unknown> = {}) =>
  fakeSweep(name, api.dir, [{ name: 'cnn', params: { waitFile: true, ...params } }], { parallelism: 1 });
const post = (token: string, body: unknown) =>
  fetch(`${api.base}/v1/sweeps`, {
    method: 'POST',
    headers: { ...as(token), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = (token: string, path: string, method = 'GET') =>
  fetch(`${api.base}${path}`, { method, headers: as(token) });
const list = async (token: string) => {
  const res = await get(token, '/v1/sweeps?limit=500');
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { id: string; name: string; tenant: string }[] }).items;
};

describe('tenants at the coordinator API', () => {
  it('lets two tenants use the same sweep name, each seeing only its own', async () => {
    const a = await post(TOKENS.acme, spec('shared', { tag: 1 }));
    expect(a.status).toBe(201);
    const b = await post(TOKENS.beta, spec('shared', { tag: 2 }));
    expect(b.status).toBe(201);
    expect(b.headers.get('location')).toBe('/v1/sweeps/shared');
    expect(await b.json()).toMatchObject({ id: 'shared', name: 'shared', tenant: 'beta' });

    const acme = await list(TOKENS.acme);
    expect(acme.map((s) => [s.id, s.tenant])).toEqual([['shared', 'acme']]);
    const mine = (await (await get(TOKENS.acme, '/v1/sweeps/shared')).json()) as {
      spec: { spec: { variants: { params: { tag: number } }[] } };
    };
    expect(mine.spec.spec.variants[0]!.params.tag).toBe(1);
    const theirs = (await (await get(TOKENS.beta, '/v1/sweeps/shared')).json()) as typeof mine;
    expect(theirs.spec.spec.variants[0]!.params.tag).toBe(2);
  });

  it("answers another tenant's sweep exactly like a missing one, on every route", async () => {
    expect((await post(TOKENS.acme, spec('acme-only'))).status).toBe(201);
    for (const [method, path] of [
      ['GET', '/v1/sweeps/%s'],
      ['GET', '/v1/sweeps/%s/report'],
      ['GET', '/v1/sweeps/%s/trials/cnn/logs'],
      ['GET', '/sweeps/%s'],
      ['DELETE', '/v1/sweeps/%s'],
    ] as const) {
      const hidden = await get(TOKENS.beta, path.replace('%s', 'acme-only'), method);
      const missing = await get(TOKENS.beta, path.replace('%s', 'never-was'), method);
      expect([method, path, hidden.status]).toEqual([method, path, 404]);
      expect(missing.status).toBe(404);
      const [h, m] = (await Promise.all([hidden.json(), missing.json()])) as { code: string; detail: string }[];
      expect(h!.code).toBe(m!.code);
      expect(h!.detail.replace('acme-only', 'X')).toBe(m!.detail.replace('never-was', 'X'));
      // Addressing it by its full id does not help a member either.
      expect((await get(TOKENS.beta, path.replace('%s', 'acme-only--acme'), method)).status).toBe(404);
    }
    expect((await list(TOKENS.beta)).map((s) => s.id)).not.toContain('acme-only');
    // beta's DELETE cancelled nothing.
    const still = (await (await get(TOKENS.acme, '/v1/sweeps/acme-only')).json()) as { phase: string };
    expect(still.phase).not.toBe('Cancelled');
  });

  it('shows admins every sweep by id, and lets them cancel any', async () => {
    const ids = (await list(TOKENS.ops)).map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['shared--acme', 'shared--beta', 'acme-only--acme']));
    expect((await get(TOKENS.ops, '/v1/sweeps/shared--beta')).status).toBe(200);
    // FERSWEEP_API_TOKENS: the default tenant's admins, as before tenants existed.
    expect((await list(LEGACY)).map((s) => s.id)).toEqual(expect.arrayContaining(ids));
    const del = await get(LEGACY, '/v1/sweeps/acme-only--acme', 'DELETE');
    expect(((await del.json()) as { phase: string }).phase).toBe('Cancelled');
    // A legacy token's own sweep keeps its bare name as id.
    expect((await post(LEGACY, spec('legacy-one'))).status).toBe(201);
    expect((await get(LEGACY, '/v1/sweeps/legacy-one')).status).toBe(200);
    expect((await list(TOKENS.acme)).map((s) => s.id)).not.toContain('legacy-one');
  });

  it("refuses names with '--' (the tenant separator) and names too long for the tenant's ids", async () => {
    const sep = await post(TOKENS.acme, spec('a--b'));
    expect(sep.status).toBe(422);
    expect(await sep.json()).toMatchObject({ code: 'InvalidSpec', field: 'metadata.name' });
    const long = await post(TOKENS.acme, spec('x'.repeat(40)));
    expect(long.status).toBe(201); // 40 + '--acme' = 46 ≤ 63
    expect((await list(TOKENS.beta)).some((s) => s.name.startsWith('xxxx'))).toBe(false);
  });

  it('pages lists with an opaque cursor, per tenant, and refuses a forged one', async () => {
    for (let i = 0; i < 5; i++) expect((await post(TOKENS.beta, spec(`page-${i}`))).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await get(TOKENS.beta, `/v1/sweeps?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as { items: { id: string }[]; continue?: string };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.continue;
    } while (cursor);
    expect(seen).toEqual(['shared', 'page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    const bad = await get(TOKENS.beta, '/v1/sweeps?cursor=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'InvalidQuery' });
  });
});

describe('the scheduler without a tenants document (fersweep run, embedded serve)', () => {
  it('applies the baseline: file:// datasets are fine locally, metadata addresses in params are not', async () => {
    const local = await startTestScheduler({ prefix: 'baseline', maxTrials: 10 });
    try {
      const spec = (params: Record<string, unknown>) => ({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'baseline' },
        spec: { dataset: 'file:///data/fer', variants: [{ name: 'm', model: 'mobilenetv2', params }] },
      });
      const refused = local.scheduler.submit(spec({ pretrained: 'http://169.254.169.254/latest/meta-data/x.h5' }));
      await expect(refused).rejects.toBeInstanceOf(PolicyError);
      await expect(refused).rejects.toMatchObject({
        code: 'BlockedAddress',
        field: 'spec.variants[0].params.pretrained',
      });
      expect(await local.scheduler.state.getSweep('baseline')).toBeUndefined();
    } finally {
      await local.close();
    }
  });
});
