/**
 * Launches: every run the coordinator starts gets a recorded launch (seq, random nonce) that only
 * its trainer receives; the coordinator's own consumer ignores trial events without the trial's
 * current launch — a forged `trial.completed` cannot set a trial's model URI or error.
 */
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  eventId,
  launchKey,
  LaunchRecord,
  TrialSpec,
  type TrialCompleted,
  type TrialEvent,
  type TrialLaunch,
} from '@fersweep/contracts';
import { createMemoryBus, createMemoryKv, type Bus, type KeyValueStore } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { recordLaunch } from './launches.js';
import { LocalLauncher } from './launchers/local.js';
import { Scheduler } from './scheduler.js';
import { SweepState } from './state.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let kv: KeyValueStore;
let bus: Bus;
let launcher: LocalLauncher;
let scheduler: Scheduler;
const rejected: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-launches-'));
  kv = createMemoryKv();
  bus = createMemoryBus();
  rejected.length = 0;
  launcher = new LocalLauncher({ command: [process.execPath, FAKE], maxConcurrent: 4, logger, killGraceMs: 2000 });
  scheduler = new Scheduler({
    state: new SweepState(kv),
    launcher,
    bus,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 10,
    models: FAKE_TRAINER_MODELS,
    onRejectedEvent: (reason) => rejected.push(reason),
  });
  await scheduler.start();
});

afterEach(async () => {
  await scheduler.stop();
  await launcher.close();
  await rm(dir, { recursive: true, force: true });
});

async function until<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

const record = async (trial: string) => {
  const e = await kv.get(launchKey('lx', trial));
  return e && LaunchRecord.parse(JSON.parse(Buffer.from(e.value).toString('utf8')));
};

const completed = (trial: string, modelUri: string, launch?: TrialLaunch): TrialCompleted => ({
  id: eventId({ sweep: 'lx', trial, type: 'trial.completed' }),
  type: 'trial.completed',
  sweep: 'lx' as TrialCompleted['sweep'],
  trial: trial as TrialCompleted['trial'],
  variant: 'a',
  attempt: 1,
  time: new Date().toISOString(),
  epochs: 1,
  bestEpoch: 1,
  stoppedEarly: false,
  modelUri,
  seconds: 1,
  ...(launch ? { launch } : {}),
});

it('hands each run a recorded launch and applies only events that carry it', async () => {
  const { trials } = await scheduler.submit({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'lx' },
    spec: {
      dataset: 'file:///nowhere',
      epochs: 1,
      parallelism: 2,
      variants: [{ name: 'a', model: 'cnn', params: { stateDir: dir, waitFile: true, dumpSpec: true } }],
    },
  });
  const trial = trials[0]!.trial;
  const spec = await until(async () =>
    TrialSpec.parse(JSON.parse(await readFile(join(dir, `lx-${trial}.spec.json`), 'utf8'))),
  );
  const launch = await record(trial);
  expect(launch).toMatchObject({ seq: 1 });
  expect(spec.launch).toEqual({ seq: 1, nonce: launch!.nonce });
  // The nonce is in no trial record (nor, so, in any API response).
  const stored = await scheduler.state.getTrial('lx', trial);
  expect(JSON.stringify(stored)).not.toContain(launch!.nonce);

  const forged: TrialEvent[] = [
    completed(trial, 's3://evil/1'), // no launch
    completed(trial, 's3://evil/2', { seq: 1, nonce: 'A'.repeat(43) }), // a guessed nonce
    completed(trial, 's3://evil/3', { seq: 2, nonce: launch!.nonce }), // a launch that does not exist
    completed('nobody', 's3://evil/4', { seq: 1, nonce: launch!.nonce }), // a trial never launched
  ];
  for (const e of forged) await bus.publish(e);
  await until(async () => (rejected.length === 4 ? true : undefined));
  expect(rejected).toEqual(['MissingLaunch', 'ForgedLaunch', 'ForgedLaunch', 'UnknownTrial']);
  expect((await scheduler.state.getTrial('lx', trial))?.modelUri).toBeUndefined();

  await bus.publish({
    ...completed(trial, 'file:///models/a'),
    id: `${completed(trial, '').id}`,
    launch: spec.launch!,
  });
  await until(async () =>
    (await scheduler.state.getTrial('lx', trial))?.modelUri === 'file:///models/a' ? true : undefined,
  );
  await writeFile(join(dir, `lx-${trial}.go`), '');
});

it('a new launch replaces the previous one: its events are stale', async () => {
  const first = await recordLaunch(kv, 'lx', 't');
  const second = await recordLaunch(kv, 'lx', 't');
  expect(second.seq).toBe(first.seq + 1);
  expect(second.nonce).not.toBe(first.nonce);
  expect(second.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(await record('t')).toMatchObject(second);
});
