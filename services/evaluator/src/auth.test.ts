/**
 * Evaluator auth (issue 12, item 4): the coordinator's bearer tokens guard /v1 and the report pages;
 * health, readiness, /metrics and the ECharts bundle stay open; without tokens it listens on
 * loopback only, as the coordinator does.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createMemoryBus } from '@fersweep/messaging';
import { loadConfig } from './config.js';
import { startEvaluatorService, type EvaluatorService } from './service.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';
import { handBuiltSweep } from './testing/fixtures.js';

const TOKEN = 'evaluator-test-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(env: Record<string, string>) {
  const { store, dir, cleanup } = await tempStore();
  const bus = createMemoryBus();
  const log = memoryLogger('warn');
  const service: EvaluatorService = await startEvaluatorService(
    loadConfig({ FERSWEEP_PORT: '0', FERSWEEP_STORE: dir, ...env }),
    { bus, store, logger: log.logger },
  );
  cleanups.push(
    cleanup,
    () => bus.close(),
    () => service.shutdown(),
  );
  return { service, bus, lines: log.lines, url: `http://127.0.0.1:${service.port}` };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('evaluator auth', () => {
  it('answers /v1 and the report pages without a valid token with 401 problem+json Unauthorized', async () => {
    const { service, bus, url } = await start({ FERSWEEP_API_TOKENS: `other, ${TOKEN}`, FERSWEEP_HOST: '127.0.0.1' });
    for (const e of handBuiltSweep('guarded')) await bus.publish(e);
    await eventually(
      async () => ((await service.evaluator.report('guarded'))?.trialCounts.succeeded === 2 ? true : undefined),
      'events',
    );
    const routes: [string, string][] = [
      ['POST', '/v1/sweeps/guarded/finalize'],
      ['GET', '/v1/sweeps/guarded/report'],
      ['GET', '/v1/sweeps'],
      ['GET', '/sweeps/guarded'],
      ['GET', '/v1/sweeps/nope/report'],
      ['GET', '/v1/anything'],
    ];
    for (const [method, path] of routes)
      for (const headers of [{}, bearer('wrong'), bearer(`${TOKEN}x`), { authorization: TOKEN }, bearer('')]) {
        const res = await fetch(`${url}${path}`, { method, headers });
        expect([method, path, headers, res.status]).toEqual([method, path, headers, 401]);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="fersweep"');
        expect(await res.json()).toMatchObject({ status: 401, code: 'Unauthorized', title: 'Unauthorized' });
      }
    // Nothing was finalized by the refused requests: the report is still the live one.
    expect((await service.evaluator.report('guarded'))?.phase).toBe('Running');

    const report = await fetch(`${url}/v1/sweeps/guarded/report`, { headers: bearer(TOKEN) });
    expect(report.status).toBe(200);
    expect(await report.json()).toMatchObject({ sweep: 'guarded' });
    const other = await fetch(`${url}/v1/sweeps`, { headers: bearer('other') });
    expect(other.status).toBe(200);
    const page = await fetch(`${url}/sweeps/guarded`, { headers: bearer(TOKEN) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const finalized = await fetch(`${url}/v1/sweeps/guarded/finalize`, { method: 'POST', headers: bearer(TOKEN) });
    expect(finalized.status).toBe(200);
    expect(await finalized.json()).toMatchObject({ sweep: 'guarded', phase: 'Succeeded' });
  });

  it('keeps health, readiness, /metrics and the ECharts bundle open', async () => {
    const { url } = await start({ FERSWEEP_API_TOKENS: TOKEN, FERSWEEP_HOST: '127.0.0.1' });
    for (const path of ['/healthz', '/readyz', '/metrics', '/assets/echarts.min.js'])
      expect([path, (await fetch(`${url}${path}`)).status]).toEqual([path, 200]);
  });

  it('listens on loopback only without tokens, everywhere with them, and warns when told to listen openly without', async () => {
    const open = await start({});
    expect(open.service.host).toBe('127.0.0.1');
    expect((await fetch(`${open.url}/v1/sweeps`)).status).toBe(200);
    expect(open.lines().map((l) => l.message)).toContainEqual(
      expect.stringMatching(/FERSWEEP_API_TOKENS is not set: .* WITHOUT authentication, on 127\.0\.0\.1 only/),
    );

    const authed = await start({ FERSWEEP_API_TOKENS: TOKEN });
    expect(authed.service.host).toBe('0.0.0.0');
    expect(authed.lines().filter((l) => l.level === 'warn')).toEqual([]);

    const exposed = await start({ FERSWEEP_HOST: '0.0.0.0' });
    expect(exposed.service.host).toBe('0.0.0.0');
    expect(exposed.lines().map((l) => l.message)).toContainEqual(
      expect.stringMatching(
        /listens on 0\.0\.0\.0 WITHOUT authentication: anyone who can reach it can read every report/,
      ),
    );
  });
});
