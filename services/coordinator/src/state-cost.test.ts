/**
 * What the API costs the state store (issue 12, items 5 and 9): `GET /v1/sweeps` and `/metrics` read
 * nothing per call however many sweeps and trials there are (a counting KV wrapper proves it), and a
 * sweep with large params stores them once, not once per trial — every record stays far below NATS
 * KV's 1 MiB default, and the API's answer does not repeat them per trial.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryKv, type KeyValueStore } from '@fersweep/messaging';
import { createLogger, createRegistry } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { createApp } from './app.js';
import { LocalLauncher } from './launchers/local.js';
import { Scheduler } from './scheduler.js';
import { SweepState } from './state.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { fakeSweep } from './testing/sweeps.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));

/** The in-memory KV, counting reads (get, and keys listed) and recording the size of every value written. */
function countingKv(): KeyValueStore & { reads: number; sizes: Map<string, number> } {
  const kv = createMemoryKv();
  const sizes = new Map<string, number>();
  const size = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength);
  const counted = {
    reads: 0,
    sizes,
    bucket: kv.bucket,
    get: (key: string) => {
      counted.reads++;
      return kv.get(key);
    },
    put: (key: string, value: Uint8Array | string) => (sizes.set(key, size(value)), kv.put(key, value)),
    create: (key: string, value: Uint8Array | string) => (sizes.set(key, size(value)), kv.create(key, value)),
    update: (key: string, value: Uint8Array | string, revision: number) => (
      sizes.set(key, size(value)),
      kv.update(key, value, revision)
    ),
    delete: (key: string) => kv.delete(key),
    async *keys(prefix?: string) {
      for await (const k of kv.keys(prefix)) {
        counted.reads++;
        yield k;
      }
    },
    watch: (o?: Parameters<KeyValueStore['watch']>[0]) => kv.watch(o),
  };
  return counted;
}

let dir: string;
let kv: ReturnType<typeof countingKv>;
let scheduler: Scheduler;
let launcher: LocalLauncher;
let server: Server;
let base: string;
const TOKEN = 'cost-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-cost-'));
  const logger = createLogger({ service: 'coordinator', silent: true });
  kv = countingKv();
  launcher = new LocalLauncher({ command: [process.execPath, FAKE], maxConcurrent: 4, logger, killGraceMs: 500 });
  scheduler = new Scheduler({
    state: new SweepState(kv),
    launcher,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 200,
    models: FAKE_TRAINER_MODELS,
  });
  await scheduler.start();
  const app = createApp({
    scheduler,
    logger,
    registry: createRegistry({ service: 'coordinator', defaultMetrics: false }),
    tokens: [TOKEN],
    ready: () => true,
    bodyLimit: '1mb',
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await scheduler.stop();
  await launcher.close();
  await rm(dir, { recursive: true, force: true });
});

const sweep = (name: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  fakeSweep(
    name,
    dir,
    [
      { name: 'a', params },
      { name: 'b', model: 'mobilenetv2', params },
    ],
    { parallelism: 1, ...extra },
  );
const post = async (body: unknown) => {
  const res = await fetch(`${base}/v1/sweeps`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
};

describe('state cost of the API', () => {
  it('stores large params once: 100 trials of a 61 KB spec stay far below 1 MiB per record and in total', async () => {
    const blob = 'x'.repeat(30_000); // two variants: a 61 KB request
    const body = sweep(
      'big-params',
      { blob, waitFile: true },
      {
        search: { method: 'grid', parameters: { tag: Array.from({ length: 50 }, (_, i) => i) } },
      },
    );
    expect(JSON.stringify(body).length).toBeGreaterThan(60_000);
    const r = await post(body);
    expect(r.status).toBe(201);
    const view = JSON.parse(r.text) as { trials: { point: Record<string, unknown> }[] };
    expect(view.trials).toHaveLength(100);
    // The spec once (61 KB) and 100 small trial views; the landed tree answered 6.2 MB.
    expect(r.text.length).toBeLessThan(200_000);
    const records = [...kv.sizes].filter(([k]) => k.includes('big-params'));
    expect(Math.max(...records.map(([, n]) => n))).toBeLessThan(100_000);
    expect(records.reduce((n, [, s]) => n + s, 0)).toBeLessThan(200_000);
    const del = await fetch(`${base}/v1/sweeps/big-params`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(200);
  });

  it('answers GET /v1/sweeps and /metrics without reading the store per call', async () => {
    for (let i = 0; i < 30; i++) expect((await post(sweep(`many-${i}`, { sleepMs: 0 }))).status).toBe(201);
    // Settle: every sweep ended (trainers exit at once), so no status update reads meanwhile.
    for (let i = 0; i < 300; i++) {
      const body = (await (await fetch(`${base}/v1/sweeps?limit=500`, { headers: auth })).json()) as {
        items: { id: string; phase: string }[];
      };
      if (body.items.filter((s) => s.id.startsWith('many-')).every((s) => s.phase === 'Succeeded')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = kv.reads;
    const page = (await (await fetch(`${base}/v1/sweeps?limit=5`, { headers: auth })).json()) as { items: unknown[] };
    expect(page.items).toHaveLength(5);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    // The landed tree read every sweep record for the list, and every sweep and trial for /metrics.
    expect(kv.reads - before).toBe(0);
    expect(metrics).toMatch(/fersweep_sweeps\{phase="Succeeded"\} 30/);
    expect(metrics).toMatch(/fersweep_coordinator_trials\{phase="Succeeded"\} 60/);
    expect(metrics).toMatch(/fersweep_coordinator_trials\{phase="Cancelled"\} 100/);
  });
});
