/**
 * search.method: tpe in the coordinator, end to end on the local launcher: scripted trainers
 * (fixtures/curve-trainer.mjs: valAccuracy set by the learning rate) publish their curves over IPC;
 * each configuration's point is suggested from its variant's history just before launch and stored
 * in its trial records. Embedded mode's state store (file-backed) for the restart.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spaceOf, type SearchParam } from '@fersweep/contracts';
import { randomPoint } from '@fersweep/search';
import { createMemoryBus, createMemoryKv, type Bus, type KeyValueStore } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { sweepView } from './app.js';
import { LocalLauncher } from './launchers/local.js';
import { Scheduler } from './scheduler.js';
import { openFileKv, SweepState, type TrialRecord } from './state.js';

const CURVES = fileURLToPath(new URL('./fixtures/curve-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let kv: KeyValueStore;
let bus: Bus;
let scheduler: Scheduler | undefined;
let launcher: LocalLauncher | undefined;

async function start() {
  bus = createMemoryBus();
  launcher = new LocalLauncher({
    command: [process.execPath, CURVES],
    maxConcurrent: 8,
    logger,
    killGraceMs: 2000,
    bus,
  });
  scheduler = new Scheduler({
    state: new SweepState(kv),
    launcher,
    bus,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 50,
  });
  await scheduler.start();
  return scheduler;
}

async function stop() {
  await scheduler?.stop();
  await launcher?.close();
  scheduler = launcher = undefined;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-tpe-'));
  kv = createMemoryKv();
});
afterEach(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

const spec = (name: string, variants: string[], over: Record<string, unknown> = {}) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name },
  spec: {
    dataset: 'file:///nowhere',
    epochs: 2,
    parallelism: 2,
    variants: variants.map((v) => ({ name: v, model: 'cnn', params: {} })),
    search: {
      method: 'tpe',
      samples: 5,
      startupTrials: 2,
      seed: 11,
      parameters: {
        learningRate: { type: 'float', min: 1e-4, max: 1e-2, log: true },
        dropout: { type: 'float', min: 0, max: 0.5 },
        width: [0.5, 1],
      },
    },
    ...over,
  },
});

async function until(check: () => Promise<boolean>, ms = 150_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

const state = () => new SweepState(kv);
const trials = async (id: string): Promise<TrialRecord[]> => {
  const sweep = await state().getSweep(id);
  return sweep ? state().trials(sweep) : [];
};
const ended = async (id: string) => ['Succeeded', 'Failed'].includes((await state().getSweep(id))?.phase ?? '');
const points = async (id: string) => Object.fromEntries((await trials(id)).map((t) => [t.trial, t.search?.point]));

describe('search.method: tpe', () => {
  it('runs with parallelism 2, stores each point before launch, and suggests the same points for the same seed', async () => {
    const s = await start();
    // The same spec under two names, at once: suggestions depend on the seed and the results only,
    // not on which trial happens to finish first.
    await s.submit(spec('tpe-one', ['a', 'b']));
    await s.submit(spec('tpe-two', ['a', 'b']));
    await until(async () => (await ended('tpe-one')) && (await ended('tpe-two')));
    const one = await trials('tpe-one');
    expect((await state().getSweep('tpe-one'))!.phase).toBe('Succeeded');
    expect(one.map((t) => t.trial)).toEqual([
      ...['a-0', 'a-1', 'a-2', 'a-3', 'a-4'],
      ...['b-0', 'b-1', 'b-2', 'b-3', 'b-4'],
    ]);
    for (const t of one) {
      const p = t.search!.point!;
      expect(t.search!.suggestedAt).toBeDefined();
      expect(p.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(p.learningRate).toBeLessThanOrEqual(1e-2);
      expect([0.5, 1]).toContain(p.width);
      // What was launched is the point: the trial's spec carries it.
      expect(t.spec.params).toMatchObject(p);
      expect(t.bestVal?.valAccuracy.epoch).toBe(2);
    }
    expect(await points('tpe-two')).toEqual(await points('tpe-one'));
    // a-4 is the first configuration with two results below its window: the model suggested it.
    const space = spaceOf(spec('x', []).spec.search.parameters as unknown as Record<string, SearchParam>);
    expect(one[3]!.search!.point).toEqual(randomPoint(space, 11, 3));
    expect(one[4]!.search!.point).not.toEqual(randomPoint(space, 11, 4));
    // One seed for every variant: their random start-up points are the same.
    expect(one[0]!.search!.point).toEqual(one[5]!.search!.point);
    expect(one[1]!.search!.point).toEqual(one[6]!.search!.point);

    // The sweep records what each variant was given, for the report.
    const view = sweepView((await state().getSweep('tpe-one'))!, one);
    expect(view.budget).toEqual({
      method: 'tpe',
      replicates: 1,
      epochsPerTrial: 2,
      variants: [
        { variant: 'a', configurations: 5, trials: 5, epochs: 10 },
        { variant: 'b', configurations: 5, trials: 5, epochs: 10 },
      ],
      equal: true,
      selection: { split: 'val', metric: 'valAccuracy', mode: 'max' },
    });
  }, 300_000);

  it('a coordinator restart in the middle reuses the stored points and suggests the rest as an uninterrupted run', async () => {
    kv = await openFileKv(join(dir, 'state'));
    let s = await start();
    await s.submit(spec('ref', ['a']));
    await until(() => ended('ref'));
    const reference = await points('ref');

    await s.submit(spec('tpe', ['a']));
    // Stopped while no trial has ended without its trial.completed handled (the in-process bus
    // goes with the process: such a trial's last events would be lost, its result incomplete).
    await until(async () => {
      const t = await trials('tpe');
      return t.filter((r) => r.search?.point).length >= 3 && t.every((r) => r.phase !== 'Succeeded' || r.bestEpoch);
    });
    await stop(); // the trainers are stopped with it (embedded mode's Ctrl-C)
    const before = await points('tpe');
    const stored = Object.entries(before).filter(([, p]) => p);
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored.length).toBeLessThan(5);

    kv = await openFileKv(join(dir, 'state')); // a new process reads the state folder again
    s = await start();
    await until(() => ended('tpe'));
    const after = await points('tpe');
    for (const [trial, p] of stored) expect(after[trial]).toEqual(p);
    const renamed = (p: Record<string, unknown>) => Object.values(p);
    expect(renamed(after)).toEqual(renamed(reference));
    expect((await state().getSweep('tpe'))!.phase).toBe('Succeeded');
  }, 300_000);

  it('replicates: every configuration trains with its seeds, the point shared, and the sweep counts them', async () => {
    const s = await start();
    await s.submit(spec('reps', ['a'], { replicates: 2, parallelism: 4 }));
    await until(() => ended('reps'));
    const t = await trials('reps');
    expect(t.map((r) => r.trial)).toEqual([
      ...['a-0-r0', 'a-0-r1', 'a-1-r0', 'a-1-r1', 'a-2-r0', 'a-2-r1'],
      ...['a-3-r0', 'a-3-r1', 'a-4-r0', 'a-4-r1'],
    ]);
    for (let k = 0; k < 5; k++) {
      const [r0, r1] = [t[2 * k]!, t[2 * k + 1]!];
      expect(r1.search!.point).toEqual(r0.search!.point);
      expect([r0.spec.replicate, r1.spec.replicate]).toEqual([0, 1]);
      expect(r0.spec.seed).toBe(42);
      expect(r1.spec.seed).not.toBe(42);
    }
    expect((await state().getSweep('reps'))!.budget).toMatchObject({
      replicates: 2,
      variants: [{ variant: 'a', configurations: 5, trials: 10, epochs: 20 }],
    });
  }, 300_000);
});
