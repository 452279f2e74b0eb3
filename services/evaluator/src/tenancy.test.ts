/**
 * Tenants at the evaluator (issue 12, item 8): the coordinator's tenants document maps tokens to
 * tenants; a sweep's tenant comes from its id (`<name>--<tenant>`), so a member reads and finalizes its
 * own sweeps by name, another tenant's are the 404 of a missing sweep and absent from its list, and
 * admins (FERSWEEP_API_TOKENS, the coordinator's token) see every sweep by id.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createMemoryBus } from '@fersweep/messaging';
import { tokenSha256 } from '@fersweep/observability';
import { loadConfig } from './config.js';
import { startEvaluatorService } from './service.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';
import { handBuiltSweep } from './testing/fixtures.js';

const ACME = 'acme-evaluator-token-0123456789';
const BETA = 'beta-evaluator-token-0123456789';
const ADMIN = 'coordinator-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('evaluator tenants', () => {
  it("serves each tenant its own sweeps by name and 404s another tenant's", async () => {
    const { store, dir, cleanup } = await tempStore();
    const bus = createMemoryBus();
    const tenants = {
      tenants: [
        { name: 'acme', tokens: [{ sha256: tokenSha256(ACME) }] },
        { name: 'beta', tokens: [{ sha256: tokenSha256(BETA) }] },
      ],
    };
    const service = await startEvaluatorService(
      loadConfig({
        FERSWEEP_PORT: '0',
        FERSWEEP_STORE: dir,
        FERSWEEP_HOST: '127.0.0.1',
        FERSWEEP_API_TOKENS: ADMIN,
        FERSWEEP_TENANTS: JSON.stringify(tenants),
      }),
      { bus, store, logger: memoryLogger('warn').logger },
    );
    cleanups.push(
      cleanup,
      () => bus.close(),
      () => service.shutdown(),
    );
    const url = `http://127.0.0.1:${service.port}`;
    for (const id of ['shared--acme', 'shared--beta', 'acme-only--acme'])
      for (const e of handBuiltSweep(id)) await bus.publish(e);
    await eventually(
      async () => ((await service.evaluator.report('acme-only--acme'))?.trialCounts.succeeded === 2 ? true : undefined),
      'events',
    );

    const mine = await fetch(`${url}/v1/sweeps/shared/report`, { headers: bearer(ACME) });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({ sweep: 'shared--acme' });
    const theirs = await fetch(`${url}/v1/sweeps/shared/report`, { headers: bearer(BETA) });
    expect(await theirs.json()).toMatchObject({ sweep: 'shared--beta' });

    const listed = (await (await fetch(`${url}/v1/sweeps`, { headers: bearer(BETA) })).json()) as {
      sweeps: { sweep: string }[];
    };
    expect(listed.sweeps.map((s) => s.sweep)).toEqual(['shared--beta']);

    for (const [method, path] of [
      ['GET', '/v1/sweeps/%s/report'],
      ['POST', '/v1/sweeps/%s/finalize'],
      ['GET', '/sweeps/%s'],
    ] as const)
      for (const id of ['acme-only', 'acme-only--acme']) {
        const res = await fetch(`${url}${path.replace('%s', id)}`, { method, headers: bearer(BETA) });
        expect([method, path, id, res.status]).toEqual([method, path, id, 404]);
        expect(await res.json()).toMatchObject({ code: 'SweepNotFound' });
      }
    // beta's finalize changed nothing.
    expect((await service.evaluator.report('acme-only--acme'))?.phase).toBe('Running');

    const all = (await (await fetch(`${url}/v1/sweeps`, { headers: bearer(ADMIN) })).json()) as {
      sweeps: { sweep: string }[];
    };
    expect(all.sweeps.map((s) => s.sweep).sort()).toEqual(['acme-only--acme', 'shared--acme', 'shared--beta']);
    const admin = await fetch(`${url}/v1/sweeps/acme-only--acme/finalize`, { method: 'POST', headers: bearer(ADMIN) });
    expect(await admin.json()).toMatchObject({ sweep: 'acme-only--acme', phase: 'Succeeded' });
  });
});
