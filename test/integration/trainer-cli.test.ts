/**
 * `fersweep train` as the Kubernetes Job runs it: a real child process, real nats-server (JetStream),
 * real S3 server. kill -9 mid-training, restart, and the trial finishes with exactly the epochs
 * asked, each published once. Needs the build (`npm test` runs `tsc -b` first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRAINER_EXIT, type TrialEvent, type TrialSpecInput } from '@fersweep/contracts';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import { openStore } from '@fersweep/storage';
import { startNats, startS3, type RunningS3, type RunningServer } from '@fersweep/testkit';

const BIN = join(process.cwd(), 'bin', 'fersweep.js');
let nats: RunningServer;
let s3: RunningS3;
let dir: string;
let bus: NatsBus;

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNats(), startS3()]);
  dir = await mkdtemp(join(tmpdir(), 'fersweep-trainer-it-'));
  await s3.createBucket('fersweep');
  Object.assign(process.env, s3.env);
  await importDataset({
    source: syntheticSource({ count: 600, seed: 2 }),
    store: openStore('s3://fersweep/datasets/synth'),
    name: 'synth',
    seed: 1,
    explore: false,
  });
  bus = await connectNatsBus({ url: nats.url, name: 'test' });
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await Promise.all([nats?.stop(), s3?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const trial = (over: Partial<TrialSpecInput>): TrialSpecInput => ({
  sweep: 'it',
  trial: 't',
  variant: 'cnn-tiny',
  model: 'cnn',
  params: { width: 0.125, blocks: 2, denseUnits: 32 },
  dataset: 's3://fersweep/datasets/synth',
  output: 's3://fersweep',
  epochs: 3,
  batchSize: 32,
  bus: { kind: 'nats' },
  ...over,
});

function train(
  spec: TrialSpecInput,
  env: Record<string, string> = {},
): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  let stderr = '';
  const child = spawn(process.execPath, [BIN, 'train', '--trial', JSON.stringify(spec)], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NATS_URL: nats.url,
      FERSWEEP_TF_BACKEND: 'wasm',
      ...s3.env,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

/** Every event of one trial on the stream, in stream order (a fresh durable each time). */
async function eventsOf(trialId: string): Promise<TrialEvent[]> {
  const sub = await bus.consume({
    durable: `check-${trialId}-${Date.now()}`,
    filter: `fersweep.trials.it.${trialId}.>`,
  });
  const events: TrialEvent[] = [];
  const deadline = Date.now() + 3000;
  while ((await sub.pending()) > 0 && Date.now() < deadline) {
    for await (const d of sub) {
      if (d.event) events.push(d.event);
      await d.ack();
      if ((await sub.pending()) === 0) break;
    }
  }
  await sub.stop();
  return events;
}

describe('fersweep train (container command)', () => {
  it('survives kill -9: the restarted trainer resumes from its checkpoint and the stream holds each epoch once', async () => {
    // Wider than the default trial, so that epoch 2 outlasts the checkpoint poll below.
    const spec = trial({ trial: 'killed', params: { width: 0.5, blocks: 2, denseUnits: 32 } });
    const first = train(spec);
    // Kill in epoch 2, once epoch 1's checkpoint is complete (its state.json is written last). A fixed wait
    // after epoch 1's event was a race: on a fast machine the whole trial could finish within it.
    const checkpoints = openStore('s3://fersweep/sweeps/it/trials/killed/checkpoints');
    const deadline = Date.now() + 120_000;
    while (!(await checkpoints.head('epoch-0001/state.json'))) {
      if (Date.now() > deadline) throw new Error("epoch 1's checkpoint did not appear within 120 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    expect(await first.exit).toBeNull();

    const second = train(spec);
    expect(await second.exit).toBe(0);
    expect(second.stderr()).toMatch(/resuming from checkpoint/);

    const events = await eventsOf('killed');
    const epochs = events.filter((e) => e.type === 'trial.epoch').map((e) => (e.type === 'trial.epoch' ? e.epoch : -1));
    expect(epochs).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.type === 'trial.started')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'trial.completed', epochs: 3, attempt: 2 });
    expect(await openStore('s3://fersweep/sweeps/it/trials/killed/model').head('model.json')).toBeDefined();
  }, 240_000);

  it('SIGTERM checkpoints mid-epoch and exits with the retryable code; the next run resumes from that batch', async () => {
    // Wider than the other trials so that the epoch outlasts the wait below.
    const spec = trial({ trial: 'termed', epochs: 1, params: { width: 0.5, blocks: 2, denseUnits: 32 } });
    const run = train(spec);
    const watch = await bus.consume({ durable: 'watch-termed', filter: 'fersweep.trials.it.termed.>' });
    for await (const d of watch) {
      await d.ack();
      if (d.event?.type === 'trial.started') break;
    }
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(TRAINER_EXIT.retryable);
    const checkpoints: string[] = [];
    for await (const o of openStore('s3://fersweep/sweeps/it/trials/termed/checkpoints').list())
      checkpoints.push(o.key);
    // The batch it stopped after is in the checkpoint's name: resuming continues from there.
    expect(checkpoints.filter((k) => /^epoch-\d{4}-batch-\d{5}\/state\.json$/.test(k))).toHaveLength(1);
    const failed = (await eventsOf('termed')).find((e) => e.type === 'trial.failed');
    expect(failed).toMatchObject({ code: 'Interrupted', retryable: true, exitCode: TRAINER_EXIT.retryable });

    const resumed = train(spec);
    expect(await resumed.exit).toBe(0);
    expect(resumed.stderr()).toMatch(/"checkpoint":"epoch-0000-batch-\d{5}"/);
    const epochs = (await eventsOf('termed')).filter((e) => e.type === 'trial.epoch');
    expect(epochs).toHaveLength(1);
  }, 120_000);

  it('an unknown model exits 42 and publishes trial.failed; a malformed spec exits 42 naming the field', async () => {
    const bad = train(trial({ trial: 'unknown', model: 'resnet50' }));
    expect(await bad.exit).toBe(TRAINER_EXIT.invalidSpec);
    expect(bad.stderr()).toMatch(/resnet50/);
    const failed = (await eventsOf('unknown')).find((e) => e.type === 'trial.failed');
    expect(failed).toMatchObject({ retryable: false, exitCode: 42 });

    const malformed = train({ ...trial({ trial: 'malformed' }), epochs: -1 } as TrialSpecInput);
    expect(await malformed.exit).toBe(TRAINER_EXIT.invalidSpec);
    expect(malformed.stderr()).toMatch(/trial spec: epochs:/);
  }, 120_000);

  it('a GPU trial whose GPU backend cannot load exits 44 (permanent) with the versions found vs needed, never training on the CPU', async () => {
    // As a Job with resources.gpu > 0 runs it (launchers/job.ts). This machine has no tfjs-node-gpu,
    // no NVIDIA driver and no CUDA libraries: the failure path every misconfigured GPU node takes.
    const run = train(trial({ trial: 'nogpu' }), {
      FERSWEEP_TF_BACKEND: 'gpu',
      FERSWEEP_GPUS_REQUESTED: '1',
      LD_LIBRARY_PATH: join(dir, 'no-cuda-here'),
    });
    expect(await run.exit).toBe(TRAINER_EXIT.gpuUnavailable);
    expect(run.stderr()).toMatch(/the GPU backend is required \(the trial asked for 1 GPU\)/);
    expect(run.stderr()).toMatch(/@tensorflow\/tfjs-node-gpu/);
    const events = await eventsOf('nogpu');
    expect(events.map((e) => e.type)).toEqual(['trial.failed']);
    const failed = events[0] as Extract<TrialEvent, { type: 'trial.failed' }>;
    expect(failed).toMatchObject({ code: 'GpuUnavailable', retryable: false, exitCode: 44, attempt: 1 });
    expect(failed.reason).toMatch(
      /found: NVIDIA driver not found, GPU not found, CUDA runtime [^,]+, cuDNN [^;]+; needed/,
    );
    expect(failed.reason).toMatch(/CUDA runtime 11\.2\+ \(libcudart\.so\.11\.0\), cuDNN 8\.1\+/);
  }, 60_000);

  it('a missing dataset exits 43', async () => {
    const run = train(trial({ trial: 'nodata', dataset: 's3://fersweep/datasets/none' }));
    expect(await run.exit).toBe(TRAINER_EXIT.invalidData);
    expect(run.stderr()).toMatch(/no dataset at s3:\/\/fersweep\/datasets\/none/);
  }, 60_000);
});
