/**
 * Issue 12 (crash-safe state): on NATS JetStream KV as in the file store, a state record that does
 * not parse is quarantined with one warning — never a failed start. Real nats-server; the landed
 * coordinator threw from its reconcile and never listened.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { COORDINATOR_BUCKET, SweepSpec } from '@fersweep/contracts';
import { connectNatsBus, openNatsKv, type KeyValueStore, type NatsBus } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { startNats, type RunningNats } from '@fersweep/testkit';
import { LocalLauncher } from './launchers/local.js';
import { startCoordinator, type Coordinator } from './main.js';
import { SweepState } from './state.js';
import { FAKE_TRAINER_PATH as FAKE_TRAINER, FAKE_TRAINER_MODELS } from './testing/index.js';
import { fakeSweep, sweepRecords } from './testing/sweeps.js';

let nats: RunningNats;
let dir: string;
let client: NatsBus;
let kv: KeyValueStore;
let coordinator: Coordinator | undefined;

beforeAll(async () => {
  nats = await startNats();
  dir = await mkdtemp(join(tmpdir(), 'fersweep-state-nats-'));
  client = await connectNatsBus({ url: nats.url, name: 'state-nats-test' });
  kv = await openNatsKv(client.connection, COORDINATOR_BUCKET);
}, 60_000);
afterAll(async () => {
  await coordinator?.stop();
  await client?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

const sweepOf = (name: string, variants: string[]) =>
  sweepRecords(
    SweepSpec.parse(
      fakeSweep(
        name,
        dir,
        variants.map((v) => ({ name: v, params: { sleepMs: 20 } })),
      ),
    ),
    `file://${dir}/store`,
  );

describe('NATS KV state', () => {
  it('quarantines records that do not parse, with one warning each, and the coordinator starts and serves the others', async () => {
    const writer = new SweepState(kv);
    await writer.createSweep(...sweepOf('alpha', ['x', 'y']));
    await writer.createSweep(...sweepOf('beta', ['z']));
    const torn = '{"id":"beta","spec":{"apiVer';
    await kv.put('sweeps.beta', torn);
    await kv.put('trials.alpha.y', '{"sweep":"alpha","trial":"y"}');

    const lines: Record<string, unknown>[] = [];
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) =>
      d
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
    );
    const logger = createLogger({ service: 'coordinator', stream, level: 'info' });
    coordinator = await startCoordinator({
      env: { PATH: process.env.PATH ?? '', NATS_URL: nats.url, FERSWEEP_STORE: `file://${dir}/store` },
      port: 0,
      host: '127.0.0.1',
      logger,
      launcher: new LocalLauncher({ command: [process.execPath, FAKE_TRAINER], maxConcurrent: 2, logger }),
      models: FAKE_TRAINER_MODELS,
    });

    const warnings = lines.filter((l) => l.message === 'state record does not parse: moved aside');
    expect(warnings.map((w) => w.key).sort()).toEqual(['sweeps.beta', 'trials.alpha.y']);
    // Kept for inspection under quarantine.<timestamp>.<key>, gone from where the coordinator reads.
    const aside: string[] = [];
    for await (const k of kv.keys('quarantine.')) aside.push(k);
    expect(aside.sort()).toEqual([
      expect.stringMatching(/^quarantine\.\d{4}-[\d-T]+Z\.sweeps\.beta$/),
      expect.stringMatching(/^quarantine\.\d{4}-[\d-T]+Z\.trials\.alpha\.y$/),
    ]);
    const sweepAside = aside.find((k) => k.endsWith('sweeps.beta'))!;
    expect(Buffer.from((await kv.get(sweepAside))!.value).toString()).toBe(torn);
    expect(await kv.get('sweeps.beta')).toBeUndefined();

    // Served: beta is gone (404), alpha's quarantined trial is planned again and the sweep finishes.
    expect((await fetch(`${coordinator.url}/v1/sweeps/beta`)).status).toBe(404);
    const end = Date.now() + 30_000;
    let body: { phase?: string } = {};
    while (Date.now() < end) {
      body = (await (await fetch(`${coordinator.url}/v1/sweeps/alpha`)).json()) as typeof body;
      if (body.phase === 'Succeeded') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.phase).toBe('Succeeded');
    const list = (await (await fetch(`${coordinator.url}/v1/sweeps`)).json()) as { items: { name: string }[] };
    expect(list.items.map((s) => s.name)).toEqual(['alpha']);
  }, 60_000);
});
