/**
 * Scheduling overhead in the coordinator (issue 15): a 1,000-trial sweep (two variants × 500
 * configurations, 27 epochs, 100 trials at a time) through the real `Scheduler` — submission check,
 * trial records in the KV (compare-and-set), the serial chain, epoch events over the in-process bus,
 * ASHA's persisted state, TPE suggestions from each variant's history — with a simulated launcher
 * whose trials cost nothing (each epoch is an event published at once, from a learning curve set by
 * the point), so the wall time is the coordinator's own work. Four sweeps: random search alone (the
 * baseline), + ASHA, TPE, TPE + ASHA; the overhead of the decisions is the difference to the
 * baseline, per epoch event and per suggestion.
 * Run: npm run bench -- scheduling
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LaunchStatus, Launcher } from '@fersweep/coordinator';
import { Scheduler, SweepState } from '@fersweep/coordinator';
import { eventId, type SweepId, type TrialId, type TrialSpec } from '@fersweep/contracts';
import { createMemoryBus, createMemoryKv, type Bus } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { report, type BenchResult } from './report.js';

const EPOCHS = 27;
const SAMPLES = 500;

/** Validation accuracy at epoch e of a trial: best near learning rate 10^-2.5, rising with e; seeded noise. */
function curve(spec: TrialSpec, e: number): number {
  const lr = (spec.params.learningRate as number | undefined) ?? 1e-3;
  const level = 0.75 - 0.08 * (Math.log10(lr) + 2.5) ** 2;
  const noise = Math.sin(spec.seed * 12.9898 + e * 78.233 + lr * 1e4) * 0.005;
  return Math.max(0.05, Math.min(0.99, level * (e / (e + 3)) + noise));
}

/** A launcher whose trials run instantly: statuses to the watcher, epoch events to the bus. */
class SimLauncher implements Launcher {
  readonly kind = 'local' as const;
  private onStatus?: (s: LaunchStatus) => void;
  private readonly cancelled = new Set<string>();
  private readonly runs: Promise<void>[] = [];
  epochEvents = 0;

  constructor(private readonly bus: Bus) {}

  async launch(spec: TrialSpec): Promise<void> {
    this.runs.push(this.run(spec));
  }

  private status(spec: TrialSpec, phase: LaunchStatus['phase']) {
    this.onStatus?.({ sweep: spec.sweep, trial: spec.trial, phase, attempts: 1, failures: 0, preemptions: 0 });
  }

  private async run(spec: TrialSpec): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.status(spec, 'Running');
    const base = { sweep: spec.sweep as SweepId, trial: spec.trial as TrialId, variant: spec.variant, attempt: 1 };
    const time = new Date().toISOString();
    for (let e = 1; e <= spec.epochs; e++) {
      await new Promise((r) => setImmediate(r));
      if (this.cancelled.has(`${spec.sweep}/${spec.trial}`)) return;
      const acc = curve(spec, e);
      this.epochEvents++;
      await this.bus.publish({
        ...base,
        id: eventId({ ...base, type: 'trial.epoch', epoch: e }),
        type: 'trial.epoch',
        time,
        epoch: e,
        loss: 1 - acc,
        accuracy: acc,
        valLoss: 1 - acc,
        valAccuracy: acc,
        learningRate: 1e-3,
        imagesPerSecond: 100,
        seconds: 1,
      });
    }
    await this.bus.publish({
      ...base,
      id: eventId({ ...base, type: 'trial.completed' }),
      type: 'trial.completed',
      time,
      epochs: spec.epochs,
      bestEpoch: spec.epochs,
      stoppedEarly: false,
      modelUri: 'file:///m',
      seconds: 1,
    });
    this.status(spec, 'Succeeded');
  }

  async cancel(sweep: string, trial: string): Promise<void> {
    this.cancelled.add(`${sweep}/${trial}`);
  }
  async list(): Promise<LaunchStatus[]> {
    return [];
  }
  async watch(onStatus: (s: LaunchStatus) => void): Promise<() => void> {
    this.onStatus = onStatus;
    return () => (this.onStatus = undefined);
  }
  async logs(): Promise<string> {
    return '';
  }
  async close(): Promise<void> {
    await Promise.all(this.runs);
  }
}

interface Run {
  name: string;
  seconds: number;
  epochEvents: number;
  stopped: number;
  suggested: number;
  best: number;
}

async function sweep(name: string, method: 'random' | 'tpe', asha: boolean): Promise<Run> {
  const tmp = await mkdtemp(join(tmpdir(), 'fersweep-bench-scheduling-'));
  const bus = createMemoryBus();
  const launcher = new SimLauncher(bus);
  const state = new SweepState(createMemoryKv());
  const logger = createLogger({ service: 'bench', silent: true });
  const scheduler = new Scheduler({ state, launcher, bus, store: openStore(`file://${tmp}`), logger, maxTrials: 1000 });
  await scheduler.start();
  const t0 = performance.now();
  await scheduler.submit({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      dataset: 'file:///nowhere',
      epochs: EPOCHS,
      parallelism: 100,
      variants: ['a', 'b'].map((v) => ({ name: v, model: 'cnn', params: {} })),
      search: {
        method,
        samples: SAMPLES,
        seed: 1,
        parameters: {
          learningRate: { type: 'float', min: 1e-5, max: 1, log: true },
          dropout: { type: 'float', min: 0, max: 0.7 },
          batchSize: { type: 'int', min: 16, max: 512, log: true },
          width: [0.25, 0.5, 1],
        },
      },
      ...(asha
        ? { scheduler: { policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 3, reductionFactor: 3 } }
        : {}),
    },
  });
  for (;;) {
    const s = await state.getSweep(name);
    if (s && ['Succeeded', 'Failed'].includes(s.phase)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  const trials = await state.trials((await state.getSweep(name))!);
  await scheduler.stop();
  await launcher.close();
  await bus.close();
  await rm(tmp, { recursive: true, force: true });
  const run = {
    name,
    seconds,
    epochEvents: launcher.epochEvents,
    stopped: trials.filter((t) => t.phase === 'Stopped').length,
    suggested: trials.filter((t) => t.search?.suggestedAt).length,
    best: Math.max(...trials.filter((t) => t.phase === 'Succeeded').map((t) => t.bestVal?.valAccuracy.value ?? 0)),
  };
  console.log(JSON.stringify(run));
  return run;
}

async function main(): Promise<void> {
  const runs = [
    await sweep('random', 'random', false),
    await sweep('random-asha', 'random', true),
    await sweep('tpe', 'tpe', false),
    await sweep('tpe-asha', 'tpe', true),
  ];
  const [base, randomAsha, tpe, tpeAsha] = runs as [Run, Run, Run, Run];
  const results: BenchResult[] = runs.map((r) => ({
    name: `1,000-trial sweep, ${r.name}: coordinator wall time`,
    value: r.seconds,
    unit: 's',
    vsBaseline: r.seconds / base.seconds,
    note: `${r.epochEvents} epoch events (${((r.seconds * 1e6) / r.epochEvents).toFixed(0)} µs each), ${r.stopped} stopped, ${r.suggested} suggested, best val acc ${r.best.toFixed(4)}`,
  }));
  results.push(
    {
      name: 'ASHA: extra coordinator time per stopped trial',
      value: ((randomAsha.seconds - base.seconds) * 1000) / randomAsha.stopped,
      unit: 'ms',
      note: `while ${27_000 - randomAsha.epochEvents} fewer epochs are trained`,
    },
    {
      name: 'TPE: extra coordinator time per suggestion',
      value: ((tpe.seconds - base.seconds) * 1000) / tpe.suggested,
      unit: 'ms',
      note: `TPE + ASHA over random + ASHA: ${(((tpeAsha.seconds - randomAsha.seconds) * 1000) / tpeAsha.suggested).toFixed(1)} ms`,
    },
  );
  await report('scheduling', results, { trials: 2 * SAMPLES, epochs: EPOCHS, parallelism: 100, runs });
}

await main();
