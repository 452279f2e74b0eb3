import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  eventId,
  launchKey,
  LaunchRecord,
  type SweepId,
  type TrialEpoch,
  type TrialEvent,
  type TrialId,
} from '@fersweep/contracts';
import { createMemoryBus, createMemoryKv, type Bus, type KeyValueStore } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { LocalLauncher } from './launchers/local.js';
import { Scheduler } from './scheduler.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { openFileKv, SweepState } from './state.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const CURVES = fileURLToPath(new URL('./fixtures/curve-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let kv: KeyValueStore;
let bus: Bus;
let scheduler: Scheduler | undefined;
let launcher: LocalLauncher | undefined;

/** The scheduler on the local launcher; `curves`: trainers publish scripted learning curves over IPC. */
async function start(curves = false) {
  bus = createMemoryBus();
  launcher = new LocalLauncher({
    command: [process.execPath, curves ? CURVES : FAKE],
    maxConcurrent: 8,
    logger,
    killGraceMs: 2000,
    ...(curves ? { bus } : {}),
  });
  scheduler = new Scheduler({
    state: new SweepState(kv),
    launcher,
    bus,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 20,
    // The curve trainer takes the real cnn params (learningRate sets its curve).
    ...(curves ? {} : { models: FAKE_TRAINER_MODELS }),
  });
  await scheduler.start();
  return scheduler;
}

async function restart() {
  await scheduler?.stop();
  await launcher?.close();
  return start();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-stop-'));
  kv = createMemoryKv();
});
afterEach(async () => {
  await scheduler?.stop();
  await launcher?.close();
  scheduler = launcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Two variants × three trials (tag 0, 1, 2), each running until the test lets it end. */
const spec = (scheduler: Record<string, unknown>) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name: 'asha' },
  spec: {
    dataset: 'file:///nowhere',
    epochs: 4,
    parallelism: 6,
    variants: ['a', 'b'].map((name) => ({ name, model: 'cnn', params: { stateDir: dir, waitFile: true } })),
    search: { method: 'grid', parameters: { tag: [0, 1, 2] } },
    scheduler,
  },
});

const epoch = (trial: string, n: number, valAccuracy: number): TrialEpoch => ({
  id: eventId({ sweep: 'asha', trial, type: 'trial.epoch', epoch: n }),
  type: 'trial.epoch',
  sweep: 'asha' as SweepId,
  trial: trial as TrialId,
  variant: trial.split('-')[0]!,
  attempt: 1,
  time: new Date().toISOString(),
  epoch: n,
  loss: 1 - valAccuracy,
  accuracy: valAccuracy,
  valLoss: 1 - valAccuracy,
  valAccuracy,
  learningRate: 0.001,
  imagesPerSecond: 100,
  seconds: 1,
});

/** Publishes as the trial's trainer would: with the launch the coordinator recorded for its current run. */
async function publish(e: TrialEvent): Promise<void> {
  const entry = await kv.get(launchKey(e.sweep, e.trial));
  const launch = entry ? LaunchRecord.parse(JSON.parse(Buffer.from(entry.value).toString('utf8'))) : undefined;
  await bus.publish(launch ? { ...e, launch: { seq: launch.seq, nonce: launch.nonce } } : e);
}

async function until(check: () => Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

const state = () => new SweepState(kv);
const trial = (id: string) => state().getTrial('asha', id);
const phases = async () => {
  const sweep = (await state().getSweep('asha'))!;
  return Object.fromEntries((await state().trials(sweep)).map((t) => [t.trial, t.phase]));
};

// Rung 1 (minEpochs 1, η 2, budget 4: rungs at 1 and 2). Per variant, the first trial at a rung
// always continues; a later one below the group's cutoff stops. b's values would all lose to a's,
// so b-0 continuing shows that rungs are judged per variant.
const RUNG1: TrialEpoch[] = [
  epoch('a-0', 1, 0.9),
  epoch('a-1', 1, 0.5),
  epoch('a-2', 1, 0.95),
  epoch('b-0', 1, 0.3),
  epoch('b-1', 1, 0.2),
];

describe('sweep scheduler (ASHA) in the coordinator', () => {
  it('stops the weak trials of each variant at their rung, cancels their runs, and the sweep still succeeds', async () => {
    const s = await start();
    await s.submit(spec({ policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 1, reductionFactor: 2 }));
    await until(async () => Object.values(await phases()).every((p) => p === 'Running'));
    for (const e of RUNG1) await publish(e);
    await until(async () => (await trial('b-1'))?.phase === 'Stopped');
    // The evaluator learns of each stop from the event log: one trial.stopped per stopped trial.
    const seen: TrialEvent[] = [];
    const sub = await bus.consume({ durable: 'test', handler: (d) => void (d.event && seen.push(d.event)) });
    await until(async () => seen.filter((e) => e.type === 'trial.stopped').length === 2);
    await sub.stop();
    expect(
      seen.filter((e) => e.type === 'trial.stopped').map((e) => [e.trial, e.type === 'trial.stopped' && e.rung]),
    ).toEqual([
      ['a-1', 1],
      ['b-1', 1],
    ]);
    expect(await phases()).toEqual({
      'a-0': 'Running',
      'a-1': 'Stopped',
      'a-2': 'Running',
      'b-0': 'Running',
      'b-1': 'Stopped',
      'b-2': 'Running',
    });
    const a1 = (await trial('a-1'))!;
    expect(a1.stopped).toMatchObject({ epoch: 1, rung: 1, threshold: 0.9 });
    expect(a1.lastEpoch?.valAccuracy).toBe(0.5); // its metrics so far are kept
    // The stopped trials' processes were stopped (SIGTERM); a late status leaves them Stopped.
    await until(async () =>
      (await launcher!.list()).every((r) => !['a-1', 'b-1'].includes(r.trial) || r.phase !== 'Running'),
    );
    for (const t of ['a-0', 'a-2', 'b-0', 'b-2']) await writeFile(join(dir, `asha-${t}.go`), '');
    await until(async () => (await state().getSweep('asha'))?.phase === 'Succeeded');
    expect((await phases())['a-1']).toBe('Stopped');
  });

  it('makes the same decisions after a restart: replayed events change nothing, and a recorded stop not yet applied is applied', async () => {
    // Embedded mode's state store: decisions survive in stopping.<sweep>.<variant> on disk.
    kv = await openFileKv(join(dir, 'state'));
    let s = await start();
    await s.submit(spec({ policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 1, reductionFactor: 2 }));
    await until(async () => Object.values(await phases()).every((p) => p === 'Running'));
    for (const e of RUNG1) await publish(e);
    await until(async () => (await trial('b-1'))?.phase === 'Stopped');
    // One state per variant: stopping.<sweep>.<variant>.
    const read = async (variant: string) =>
      JSON.parse(Buffer.from((await kv.get(`stopping.asha.${variant}`))!.value).toString()) as {
        asha: { groups: Record<string, Record<string, unknown>> };
      };
    const decided = { a: await read('a'), b: await read('b') };
    expect(Object.keys(decided.a.asha.groups)).toEqual(['a']);
    const before = await phases();

    // A coordinator that died between recording the stop of a-1 and writing its phase.
    await state().updateTrial('asha', 'a-1', (t) => ({ ...t, phase: 'Running', stopped: undefined }));
    await scheduler!.stop();
    kv = await openFileKv(join(dir, 'state')); // a new process reads the state folder again
    s = await restart();
    await until(async () => (await trial('a-1'))?.phase === 'Stopped');
    expect((await trial('a-1'))!.stopped).toMatchObject({ epoch: 1, rung: 1 });

    // Every event again (JetStream redelivers after a restart), in another order, with other values:
    // the recorded verdicts stand.
    for (const e of [...RUNG1].reverse()) await publish({ ...e, valAccuracy: 1 - e.valAccuracy });
    await publish(epoch('a-0', 2, 0.91)); // a new event is still judged
    // Events are handled one at a time, in order: once a-0's rung 2 is recorded, the replays were judged.
    await until(async () => (await read('a')).asha.groups.a!['2'] !== undefined);
    expect(await phases()).toEqual(before);
    const after = await read('a');
    expect(after.asha.groups.a!['1']).toEqual(decided.a.asha.groups.a!['1']);
    expect(await read('b')).toEqual(decided.b);
    expect(Object.keys(after.asha.groups.a!['2']!)).toEqual(['a-0']);
    void s;
  });

  it('median rule: stops a trial whose best is below the median of completed trials of its variant', async () => {
    const s = await start();
    await s.submit(spec({ policy: 'median', metric: 'valLoss', mode: 'min', minTrials: 2, startEpoch: 2 }));
    await until(async () => Object.values(await phases()).every((p) => p === 'Running'));
    for (const [t, v] of [
      ['a-0', 0.2],
      ['a-1', 0.3],
    ] as const) {
      await publish(epoch(t, 1, 1 - v - 0.1));
      await publish(epoch(t, 2, 1 - v));
      const completed: TrialEvent = {
        id: eventId({ sweep: 'asha', trial: t, type: 'trial.completed' }),
        type: 'trial.completed',
        sweep: 'asha' as SweepId,
        trial: t as TrialId,
        variant: 'a',
        attempt: 1,
        time: new Date().toISOString(),
        epochs: 2,
        bestEpoch: 2,
        stoppedEarly: false,
        modelUri: 'file:///m',
        seconds: 1,
      };
      await publish(completed);
    }
    await publish(epoch('a-2', 1, 0.1)); // before startEpoch: continues
    await publish(epoch('b-0', 2, 0.1)); // b has no completed trials: continues
    await publish(epoch('a-2', 2, 0.2)); // valLoss 0.8, worse than the median 0.25
    await until(async () => (await trial('a-2'))?.phase === 'Stopped');
    expect((await trial('a-2'))!.stopped).toMatchObject({ epoch: 2, rung: 2, threshold: 0.25 });
    expect((await phases())['b-0']).toBe('Running');
  });

  it('end to end on the local launcher: trainers publish their curves over IPC, the weak ones are SIGTERMed at rung 1', async () => {
    const s = await start(true);
    // One at a time, best first: s-0 sets rung 1; s-1 and s-2 fall below its cutoff there.
    await s.submit({
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: 'asha' },
      spec: {
        dataset: 'file:///nowhere',
        epochs: 6,
        parallelism: 1,
        variants: [{ name: 's', model: 'cnn', params: {} }],
        search: { method: 'grid', parameters: { learningRate: [0.004, 0.001, 0.0005] } },
        scheduler: { policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 1, reductionFactor: 3 },
      },
    });
    await until(async () => ['Succeeded', 'Failed'].includes((await state().getSweep('asha'))!.phase));
    expect((await state().getSweep('asha'))!.phase).toBe('Succeeded');
    const trials = await state().trials((await state().getSweep('asha'))!);
    expect(trials.map((t) => [t.trial, t.phase, t.stopped?.epoch, t.stopped?.rung])).toEqual([
      ['s-0', 'Succeeded', undefined, undefined],
      ['s-1', 'Stopped', 1, 1],
      ['s-2', 'Stopped', 1, 1],
    ]);
    expect(trials[0]!.lastEpoch?.epoch).toBe(6);
    expect(trials[1]!.lastEpoch).toBeDefined(); // its metrics so far are kept
    expect(trials[1]!.stopped!.threshold).toBeCloseTo(0.4, 12); // s-0's valAccuracy at epoch 1
    // Their processes were ended by the launcher (SIGTERM) before their last epoch.
    const runs = await launcher!.list();
    for (const t of ['s-1', 's-2']) expect(runs.find((r) => r.trial === t)).toMatchObject({ phase: 'Failed' });
  });
});
