import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keys, type SweepReport, type SweepSpec } from '@fersweep/contracts';
import {
  LocalLauncher,
  openFileKv,
  Scheduler,
  SweepError,
  SweepState,
  sweepView,
  validateSweep,
  type SweepRecord,
} from '@fersweep/coordinator';
import { DatasetReader } from '@fersweep/dataset';
import { createEvaluator } from '@fersweep/evaluator';
import { createMemoryBus } from '@fersweep/messaging';
import { createLogger, createRegistry, usableCores } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { UsageError } from './errors.js';
import { sweepProgress } from './sweep-view.js';
import { trainerCommand } from './wiring.js';

/** Largest sweep embedded mode accepts (the local launcher runs them a few at a time). */
const MAX_TRIALS = 10_000;

export interface EmbeddedRunOptions {
  /** The parsed (not yet validated) sweep spec. */
  spec: unknown;
  /** Data folder: the file store root and the sweep state (default ./fersweep-data). */
  dataDir: string;
  /** Trainer processes at once (default: as many as the sweep runs at once, at most one per core). */
  maxTrainers?: number;
  /** Cores the trainers share (default: this process's usable cores); each gets ⌊cores / trainers⌋ threads. */
  cores?: number;
  /** Where progress bars go. */
  progress?: NodeJS.WriteStream;
  /** Aborted on Ctrl-C: trainers checkpoint and stop; running the same command again resumes. */
  signal?: AbortSignal;
}

export interface EmbeddedRunResult {
  sweep: SweepRecord;
  report: SweepReport | undefined;
  reportDir: string;
  interrupted: boolean;
}

/** Resolves `file://./relative` and plain relative paths against the working directory. */
function resolveDataset(url: string): string {
  if (url.startsWith('file://./') || url.startsWith('file://../'))
    return pathToFileURL(resolve(url.slice('file://'.length))).href;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return pathToFileURL(resolve(url)).href;
  return url;
}

/**
 * Trainer processes at once in embedded mode: as many trials as the sweep runs at once (its `parallelism`,
 * at most its trial count), at most one per core. The local launcher then divides the cores among them:
 * the 2-variant demo on 8 cores runs 2 trainers with 4 data-parallel threads each.
 */
export function embeddedTrainers(cores: number, parallelism: number, trials: number): number {
  return Math.max(1, Math.min(cores, parallelism, trials));
}

/**
 * Embedded mode: the same SweepSpec, scheduler and trainer as on a cluster, on this machine —
 * trainer child processes (bounded), their events over IPC into the in-process bus, the evaluator
 * aggregating live, the file store under `dataDir`, the sweep state under `dataDir/.state` (so an
 * interrupted run resumes). Ends with the report in `dataDir/sweeps/<id>/report/`.
 */
export async function runEmbedded(o: EmbeddedRunOptions): Promise<EmbeddedRunResult> {
  // The whole check (schema, model registry, search values) before the dataset is opened or anything starts.
  let spec: SweepSpec;
  let plans: unknown[];
  try {
    ({ spec, plans } = validateSweep(o.spec, MAX_TRIALS));
  } catch (err) {
    if (err instanceof SweepError) throw new UsageError(`sweep spec: ${err.message}`, { cause: err });
    throw err;
  }
  const dataset = resolveDataset(spec.spec.dataset);
  await DatasetReader.open(openStore(dataset)); // a clear error now rather than in every trainer
  const dataDir = resolve(o.dataDir);
  const store = openStore(pathToFileURL(dataDir).href);
  const logger = createLogger({ service: 'fersweep', level: process.env.LOG_LEVEL ?? 'warn', pretty: true });
  const bus = createMemoryBus();
  const evaluator = createEvaluator({
    bus,
    store,
    registry: createRegistry({ service: 'evaluator', defaultMetrics: false }),
    logger,
  });
  const cores = o.cores ?? usableCores();
  const launcher = new LocalLauncher({
    command: trainerCommand(),
    maxConcurrent: o.maxTrainers ?? embeddedTrainers(cores, spec.spec.parallelism, plans.length),
    cores,
    bus,
    logger,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  const state = new SweepState(await openFileKv(join(dataDir, '.state'), { logger }));
  const scheduler = new Scheduler({ state, launcher, store, logger, bus, maxTrials: MAX_TRIALS, resolveDataset });
  await evaluator.start();
  await scheduler.start();
  const progress = sweepProgress(o.progress);
  let interrupted = false;
  try {
    const { sweep } = await scheduler.submit({ ...spec, spec: { ...spec.spec, dataset } });
    for (;;) {
      const record = (await state.getSweep(sweep.id))!;
      const trials = await state.trials(record);
      progress.update(sweepView(record, trials));
      if (['Succeeded', 'Failed', 'Cancelled'].includes(record.phase)) break;
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    progress.stop();
    const record = (await state.getSweep(sweep.id))!;
    if (interrupted)
      return { sweep: record, report: undefined, reportDir: join(dataDir, keys.report(sweep.id)), interrupted };
    await evaluator.flush();
    const report = await evaluator.finalize(sweep.id);
    return { sweep: record, report, reportDir: join(dataDir, keys.report(sweep.id)), interrupted };
  } finally {
    progress.stop();
    await scheduler.stop();
    await launcher.close(); // SIGTERM: trainers checkpoint, a later run resumes them
    await evaluator.stop();
    await bus.close();
  }
}
