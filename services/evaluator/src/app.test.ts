/**
 * The evaluator in embedded mode: the in-process bus, a file store, the express app on port 0,
 * called over HTTP.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import { keys, SweepReport } from '@fersweep/contracts';
import { createMemoryBus, type Bus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import type { FileStore } from '@fersweep/storage';
import type { Registry } from 'prom-client';
import { createApp } from './app.js';
import { createEvaluator, type Evaluator } from './evaluator.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';
import { handBuiltSweep, sweepSpec } from './testing/fixtures.js';

let bus: Bus;
let store: FileStore;
let cleanup: () => Promise<void>;
let registry: Registry;
let evaluator: Evaluator;
let server: Server;
let base: string;

beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  bus = createMemoryBus();
  registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
  const { logger } = memoryLogger('error');
  evaluator = createEvaluator({ bus, store, registry, logger, flushIntervalMs: 10, sampleImages: false });
  await evaluator.start();
  server = createApp({ evaluator, registry, logger }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterEach(async () => {
  await evaluator.stop();
  await bus.close();
  await new Promise((r) => server.close(r));
  await cleanup();
});

const get = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

async function publishAll(sweep: string): Promise<void> {
  for (const e of handBuiltSweep(sweep)) await bus.publish(e);
}

async function finished(sweep: string): Promise<SweepReport> {
  return eventually(async () => {
    const res = await get(`/v1/sweeps/${sweep}/report`);
    if (res.status !== 200) return undefined;
    const report = SweepReport.parse(await res.json());
    return report.phase === 'Succeeded' && (await store.head(`${keys.report(sweep)}/report.json`)) ? report : undefined;
  }, `sweep ${sweep} to end`);
}

describe('evaluator app (embedded mode: in-process bus)', () => {
  it('serves the report of a sweep and writes it to the store when the spec says it has ended', async () => {
    await store.put(keys.sweepSpec('cmp'), JSON.stringify(sweepSpec('cmp')));
    await publishAll('cmp');
    const report = await finished('cmp');
    expect(report.comparison.ranking).toEqual(['cnn', 'mobilenet']);
    expect(report.comparison.pairs[0]!.mcnemarP).toBeCloseTo(0.125, 14);
    expect(report.trials.map((t) => t.phase)).toEqual(['Succeeded', 'Succeeded']);

    const stored = JSON.parse((await store.get(`${keys.report('cmp')}/report.json`)).toString('utf8'));
    expect(stored).toEqual(report);
    const files = [];
    for await (const o of store.list(`${keys.report('cmp')}/`)) files.push(o.key.slice(keys.report('cmp').length + 1));
    expect(files.sort()).toEqual([
      'confusion-cnn.png',
      'confusion-mobilenet.png',
      'index.html',
      'learning-curves.png',
      'per-class-f1.png',
      'report.json',
    ]);
    const png = await store.get(`${keys.report('cmp')}/learning-curves.png`);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    const html = (await store.get(`${keys.report('cmp')}/index.html`)).toString('utf8');
    expect(html).toContain('<title>fersweep report — cmp</title>');
    expect(html).not.toMatch(/<script[^>]+src=/); // ECharts inlined: the stored page needs no server
    expect((await get('/v1/sweeps')).status).toBe(200);
  });

  it('ranks by the metric a request asks for, and refuses an unknown one with 400', async () => {
    await publishAll('cmp');
    await eventually(async () => ((await get('/v1/sweeps/cmp/report')).ok ? true : undefined), 'the sweep');
    const res = await get('/v1/sweeps/cmp/report?metric=test.macroF1');
    expect(((await res.json()) as SweepReport).comparison.metric).toBe('test.macroF1');
    const bad = await get('/v1/sweeps/cmp/report?metric=loss');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await bad.json()).toMatchObject({ status: 400, code: 'InvalidArgument' });
  });

  it('answers an unknown sweep with 404 problem+json on every route, and a malformed id with 400', async () => {
    for (const path of ['/v1/sweeps/nope/report', '/sweeps/nope']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toEqual({
        type: 'urn:fersweep:problem:SweepNotFound',
        title: 'SweepNotFound',
        status: 404,
        code: 'SweepNotFound',
        detail: expect.stringContaining("no sweep 'nope'"),
        instance: path,
      });
    }
    expect((await get('/v1/sweeps/nope/finalize', { method: 'POST' })).status).toBe(404);
    const bad = await get('/v1/sweeps/Not_A_Sweep/report');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'InvalidArgument' });
    const route = await get('/v2/anything');
    expect(route.status).toBe(404);
    expect(await route.json()).toMatchObject({ code: 'NotFound' });
  });

  it('finalizes a sweep whose spec it cannot read, and writes its report', async () => {
    await publishAll('nospec');
    const running = await eventually(async () => {
      const res = await get('/v1/sweeps/nospec/report');
      const r = res.ok ? ((await res.json()) as SweepReport) : undefined;
      return r?.trialCounts.succeeded === 2 ? r : undefined;
    }, 'both trials to succeed');
    expect(running.phase).toBe('Running');
    expect(running.verdict.provisional).toBe(true);
    const res = await get('/v1/sweeps/nospec/finalize', { method: 'POST' });
    expect(res.status).toBe(200);
    const report = (await res.json()) as SweepReport;
    expect(report.phase).toBe('Succeeded');
    expect(report.verdict.provisional).toBe(false);
    expect(JSON.parse((await store.get(`${keys.report('nospec')}/report.json`)).toString('utf8'))).toEqual(report);
  });

  it('serves the page, its ECharts bundle from node_modules, metrics, health and readiness', async () => {
    await publishAll('cmp');
    await eventually(async () => ((await get('/v1/sweeps/cmp/report')).ok ? true : undefined), 'the sweep');
    const page = await get('/sweeps/cmp');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script src="/assets/echarts.min.js"></script>');
    const js = await get('/assets/echarts.min.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(500_000);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('fersweep_trial_accuracy_ratio{sweep="cmp",trial="cnn",variant="cnn",split="val"} 0.64');
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz')).status).toBe(200);
    await evaluator.stop();
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ code: 'NotReady' });
  });
});
