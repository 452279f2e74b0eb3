import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryKv } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { LocalLauncher } from './launchers/local.js';
import { trialSpecOf } from './plan.js';
import { Scheduler, SweepError } from './scheduler.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { fakeSweep } from './testing/sweeps.js';
import { openFileKv, SweepState } from './state.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let scheduler: Scheduler;
let launcher: LocalLauncher;

async function setup(kvDir?: string, maxConcurrent = 8) {
  launcher = new LocalLauncher({ command: [process.execPath, FAKE], maxConcurrent, logger, killGraceMs: 2000 });
  const kv = kvDir ? await openFileKv(kvDir) : createMemoryKv();
  scheduler = new Scheduler({
    state: new SweepState(kv),
    launcher,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 20,
    models: FAKE_TRAINER_MODELS,
  });
  await scheduler.start();
}

beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-sched-'))));
afterEach(async () => {
  await scheduler?.stop();
  await launcher?.close();
  await rm(dir, { recursive: true, force: true });
});

const sweep = (
  name: string,
  variants: { name: string; params: Record<string, unknown> }[],
  extra: Record<string, unknown> = {},
) => fakeSweep(name, dir, variants, extra);

async function until(check: () => Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}
const phase = async (id: string) => (await scheduler.state.getSweep(id))?.phase;

describe('Scheduler with the local launcher', () => {
  it('runs every trial to Succeeded, never more than `parallelism` at once', async () => {
    await setup();
    let peak = 0;
    await launcher.watch(async () => {
      const s = await launcher.list();
      peak = Math.max(peak, s.filter((x) => x.phase === 'Running').length);
    });
    const r = await scheduler.submit(
      sweep(
        'par',
        ['a', 'b', 'c', 'd', 'e'].map((n) => ({ name: n, params: { sleepMs: 200 } })),
        { parallelism: 2 },
      ),
    );
    expect(r.created).toBe(true);
    expect(r.trials.map((t) => t.trial)).toEqual(['a', 'b', 'c', 'd', 'e']);
    await until(async () => (await phase('par')) === 'Succeeded');
    expect(peak).toBeLessThanOrEqual(2);
    expect(JSON.parse(await readFile(join(dir, 'store/sweeps/par/spec.json'), 'utf8')).metadata.name).toBe('par');
  });

  it("passes the sweep's preciseBatchNorm to its trials; absent, trials re-estimate from 256 images", async () => {
    await setup();
    const off = await scheduler.submit(sweep('bn-off', [{ name: 'a', params: {} }], { preciseBatchNorm: false }));
    const more = await scheduler.submit(
      sweep('bn-more', [{ name: 'a', params: {} }], { preciseBatchNorm: { images: 1024 } }),
    );
    const absent = await scheduler.submit(sweep('bn-default', [{ name: 'a', params: {} }]));
    const launched = (r: typeof off) =>
      trialSpecOf(r.sweep.spec, r.trials[0]!, { output: 'file:///o', dataset: 'file:///d' });
    expect([off, more, absent].map((r) => launched(r).preciseBatchNorm)).toEqual([
      false,
      { images: 1024 },
      { images: 256 },
    ]);
  });

  it('retries a retryable failure and fails at once on a permanent exit code', async () => {
    await setup();
    await scheduler.submit(
      sweep(
        'retry',
        [
          { name: 'flaky', params: { exitCodes: [75, 1, 0] } },
          { name: 'broken', params: { exitCodes: [42, 0] } },
          { name: 'hopeless', params: { exitCodes: [75, 75, 75, 75, 75] } },
        ],
        { retries: 2 },
      ),
    );
    await until(async () => (await phase('retry')) === 'Failed');
    const byId = Object.fromEntries(
      (await scheduler.state.trials((await scheduler.state.getSweep('retry'))!)).map((t) => [t.trial, t]),
    );
    expect(byId.flaky).toMatchObject({ phase: 'Succeeded', attempts: 3, failures: 2 });
    expect(byId.broken).toMatchObject({ phase: 'Failed', attempts: 1, exitCode: 42 });
    expect(byId.broken!.message).toMatch(/PermanentError/);
    expect(byId.hopeless).toMatchObject({ phase: 'Failed', attempts: 3 });
    expect(byId.hopeless!.message).toMatch(/BackoffLimitExceeded/);
  });

  it('is idempotent by name: the same spec returns the sweep, another spec is a conflict', async () => {
    await setup();
    const s = sweep('idem', [{ name: 'a', params: {} }]);
    expect((await scheduler.submit(s)).created).toBe(true);
    expect((await scheduler.submit(JSON.parse(JSON.stringify(s)))).created).toBe(false);
    await expect(scheduler.submit({ ...s, spec: { ...s.spec, epochs: 2 } })).rejects.toMatchObject({
      code: 'Conflict',
    });
  });

  it('refuses invalid specs and oversized grids, naming the field, creating nothing', async () => {
    await setup();
    await expect(scheduler.submit({ ...sweep('bad', []) })).rejects.toMatchObject({
      code: 'InvalidSpec',
      field: 'spec.variants',
    });
    const big = sweep('big', [{ name: 'a', params: {} }], {
      search: { method: 'grid', parameters: { seed: [1, 2, 3, 4, 5], sleepMs: [1, 2, 3, 4, 5] } },
    });
    await expect(scheduler.submit(big)).rejects.toBeInstanceOf(SweepError);
    await expect(scheduler.submit(big)).rejects.toMatchObject({ code: 'TooManyTrials' });
    expect(await scheduler.state.listSweeps()).toEqual([]);
  });

  it('cancel stops running trials and pending ones never start', async () => {
    await setup();
    await scheduler.submit(
      sweep(
        'cancel',
        ['a', 'b', 'c'].map((n) => ({ name: n, params: { sleepMs: 30_000 } })),
        { parallelism: 1 },
      ),
    );
    await until(async () => (await launcher.list()).some((s) => s.phase === 'Running'));
    const s = await scheduler.cancel('cancel');
    expect(s.phase).toBe('Cancelled');
    const trials = await scheduler.state.trials(s);
    expect(trials.map((t) => t.phase)).toEqual(['Cancelled', 'Cancelled', 'Cancelled']);
    expect((await launcher.list()).filter((x) => x.phase === 'Running')).toEqual([]);
    await expect(scheduler.cancel('nope')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('a restarted coordinator (file-backed state) finishes the sweep without starting finished trials again', async () => {
    const kvDir = join(dir, 'state');
    await setup(kvDir, 1);
    await scheduler.submit(
      sweep(
        'restart',
        ['a', 'b', 'c'].map((n) => ({ name: n, params: { sleepMs: 300 } })),
        { parallelism: 1 },
      ),
    );
    await until(async () => (await scheduler.state.getTrial('restart', 'a'))?.phase === 'Succeeded');
    await scheduler.stop();
    await launcher.close(); // the coordinator dies: its child is stopped
    await setup(kvDir, 1);
    await until(async () => (await phase('restart')) === 'Succeeded');
    const attempts = await Promise.all(
      ['a', 'b', 'c'].map((t) => readFile(join(dir, `restart-${t}.attempts`), 'utf8')),
    );
    expect(attempts[0]).toBe('1'); // finished before the restart: never run again
  });
});
