import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SweepSpec } from '@fersweep/contracts';
import { createMemoryKv } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { LocalLauncher } from './launchers/local.js';
import { trialSpecOf } from './plan.js';
import { Scheduler } from './scheduler.js';
import { openFileKv, SweepState } from './state.js';
import { fakeSweep, sweepRecords } from './testing/sweeps.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
let dir: string;
let scheduler: Scheduler | undefined;
let launcher: LocalLauncher | undefined;

beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-state-'))));
afterEach(async () => {
  await scheduler?.stop();
  await launcher?.close();
  scheduler = launcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A logger whose JSON lines the test reads. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) =>
    d
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
  );
  return { lines, logger: createLogger({ service: 'coordinator', stream, level: 'info' }) };
}

const spec = (name: string, variants: string[], params: Record<string, unknown> = {}) =>
  SweepSpec.parse(
    fakeSweep(
      name,
      dir,
      variants.map((v) => ({ name: v, params: { sleepMs: 20, ...params } })),
    ),
  );
const records = (s: SweepSpec) => sweepRecords(s, `file://${dir}/store`);

async function startScheduler(state: SweepState, logger = createLogger({ service: 'c', silent: true })) {
  launcher = new LocalLauncher({
    command: [process.execPath, FAKE],
    maxConcurrent: 4,
    logger,
    specDir: join(dir, 'specs'),
  });
  scheduler = new Scheduler({ state, launcher, store: openStore(`file://${dir}/store`), logger, maxTrials: 20 });
  await scheduler.start();
  return scheduler;
}
async function until(check: () => Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

describe('file-backed state', () => {
  it('quarantines records that do not parse, with one warning each, and the coordinator starts and finishes its sweeps', async () => {
    const stateDir = join(dir, 'state');
    const first = new SweepState(await openFileKv(stateDir));
    const [a, aTrials] = records(spec('alpha', ['x', 'y']));
    const [b, bTrials] = records(spec('beta', ['z']));
    await first.createSweep(a, aTrials);
    await first.createSweep(b, bTrials);
    // A torn write (the old store renamed without fsync), a record by hand, a crashed write's temp file.
    const sweepFile = join(stateDir, 'sweeps.beta.json');
    await truncate(sweepFile, (await stat(sweepFile)).size >> 1);
    await writeFile(join(stateDir, 'trials.alpha.y.json'), '{"sweep":"alpha","trial":"y"}');
    await writeFile(join(stateDir, 'trials.alpha.x.json.tmp-999-0'), '{"half');

    const { lines, logger } = capture();
    const state = new SweepState(await openFileKv(stateDir, { logger }));
    await startScheduler(state, logger);

    const files = await readdir(stateDir);
    // The crashed write's temp file is gone (the scheduler's own writes, already running, have theirs).
    expect(files).not.toContain('trials.alpha.x.json.tmp-999-0');
    expect(files.filter((f) => f.includes('.corrupt-')).sort()).toEqual([
      expect.stringMatching(/^sweeps\.beta\.json\.corrupt-\d{4}-/),
      expect.stringMatching(/^trials\.alpha\.y\.json\.corrupt-\d{4}-/),
    ]);
    const warnings = lines.filter((l) => l.message === 'state record does not parse: moved aside');
    expect(warnings.map((w) => w.key).sort()).toEqual(['sweeps.beta', 'trials.alpha.y']);
    expect(await state.getSweep('beta')).toBeUndefined();
    // The quarantined trial of a live sweep is planned again, and the sweep finishes.
    await until(async () => (await state.getSweep('alpha'))?.phase === 'Succeeded');
    expect((await state.trials((await state.getSweep('alpha'))!)).map((t) => [t.trial, t.phase])).toEqual([
      ['x', 'Succeeded'],
      ['y', 'Succeeded'],
    ]);
  });

  it('applies concurrent writes of one key in order, each through its own private temp file', async () => {
    const stateDir = join(dir, 'state');
    const kv = await openFileKv(stateDir);
    await Promise.all(Array.from({ length: 30 }, (_, i) => kv.put('other.k', JSON.stringify({ i }))));
    const onDisk = await readFile(join(stateDir, 'other.k.json'), 'utf8');
    expect(onDisk).toBe(Buffer.from((await kv.get('other.k'))!.value).toString());
    expect(JSON.parse(onDisk)).toEqual({ i: 29 });
    expect((await stat(join(stateDir, 'other.k.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(stateDir)).toEqual(['other.k.json']);
    const again = await openFileKv(stateDir);
    expect(Buffer.from((await again.get('other.k'))!.value).toString()).toBe(onDisk);
  });
});

describe('createSweep', () => {
  it('of two replicas racing for one name, the loser writes nothing: the trials are the winner’s', async () => {
    const kv = createMemoryKv(); // one bucket, two coordinators
    const [one, oneTrials] = records(spec('race', ['a', 'b'], { from: 'one' }));
    const [two, twoTrials] = records(spec('race', ['a', 'b'], { from: 'two' }));
    const results = await Promise.allSettled([
      new SweepState(kv).createSweep(one, oneTrials),
      new SweepState(kv).createSweep(two, twoTrials),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const state = new SweepState(kv);
    const winner = (await state.getSweep('race'))!;
    const trials = await state.trials(winner);
    expect(trials).toHaveLength(2);
    for (const t of trials)
      expect(trialSpecOf(winner.spec, t, { output: 'file:///o', dataset: 'file:///d' }).params.from).toBe(
        winner.spec.spec.variants[0]!.params.from,
      );
  });

  it('a sweep whose creator died after the sweep record gets its missing trials at the next start', async () => {
    const kv = createMemoryKv();
    const [s, trials] = records(spec('half', ['a', 'b', 'c']));
    await kv.create('sweeps.half', JSON.stringify(s));
    await kv.put('trials.half.a', JSON.stringify(trials[0]));
    const { lines, logger } = capture();
    const state = new SweepState(kv);
    await startScheduler(state, logger);
    await until(async () => (await state.getSweep('half'))?.phase === 'Succeeded');
    expect((await state.trials((await state.getSweep('half'))!)).map((t) => t.phase)).toEqual([
      'Succeeded',
      'Succeeded',
      'Succeeded',
    ]);
    expect(lines.find((l) => l.message === 'trial records were missing: restored as Pending')).toMatchObject({
      sweep: 'half',
      trials: ['b', 'c'],
    });
  });
});
