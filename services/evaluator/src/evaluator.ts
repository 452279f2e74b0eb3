/**
 * The evaluator without its HTTP face: consumer + sweep states + reports + metrics, wired from the
 * clients it is given. The service (main.ts) and embedded mode (an in-process bus and a file store)
 * run exactly this.
 */
import { keys, SweepId, SweepReport, type RankMetric } from '@fersweep/contracts';
import type { Bus, LaunchVerifier } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import { openStore as defaultOpenStore, type ObjectStore } from '@fersweep/storage';
import { renderReportHtml, type EchartsSource } from '@fersweep/report';
import type { Registry } from 'prom-client';
import type { SweepPhase } from '@fersweep/contracts';
import { consumerSettings, DEFAULT_DURABLE, EventConsumer, type ConsumerSettings } from './consumer.js';
import { EvaluatorError } from './errors.js';
import { createEvaluatorMetrics, type EvaluatorMetrics } from './metrics.js';
import { buildReport } from './report/build.js';
import { writeReportArtifacts } from './report/publish.js';
import { attachSampleImages, createSampleImageSource, type SampleImageSource } from './report/samples.js';
import { SweepStates, type SweepEntry } from './sweeps.js';

/** What an evaluator is built from; the consumer's settings pass through to its {@link EventConsumer}. */
export interface EvaluatorOptions extends ConsumerSettings {
  /** NATS JetStream (`connectNatsBus`) or the in-process bus (`createMemoryBus`). */
  bus: Bus;
  /** The store root (FERSWEEP_STORE): the evaluator's state and the reports go under sweeps/<id>/. */
  store: ObjectStore;
  registry: Registry;
  logger: Logger;
  /** Ranking metric of the stored report (and the default of the API). Default `test.accuracy`. */
  metric?: RankMetric;
  /** Family-wise error rate of the pairwise McNemar tests. Default 0.05. */
  alpha?: number;
  /** Where sample images come from; default the trials' datasets, opened with `openStore`. `false`: none. */
  sampleImages?: SampleImageSource | false;
  /** Opens dataset URLs for sample images. Default storage's `openStore`. */
  openStore?: (url: string) => ObjectStore;
  /** Drops events without the trial's current launch (the coordinator's records); see EventConsumer. */
  launches?: LaunchVerifier;
  /**
   * How long a finished sweep stays in memory after its final report is stored; then it is evicted
   * (its events, per-image predictions included, leave memory) and served from the stored report.
   * Default 5 min.
   */
  evictAfterMs?: number;
}

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

/** A line of the sweep list. */
export interface SweepSummary {
  sweep: SweepId;
  phase: SweepPhase;
  trials: number;
  updatedAt: string | null;
}

/** The evaluator: consume, aggregate, report. */
export interface Evaluator {
  /** Subscribes (durable) and consumes in the background. */
  start(): Promise<void>;
  /** Stops consuming, then commits and acks what was applied. */
  stop(): Promise<void>;
  /** True between start() and stop(). */
  readonly consuming: boolean;
  /** The sweep's report; undefined for a sweep neither in memory nor in the store. */
  report(sweep: string, options?: { metric?: RankMetric }): Promise<SweepReport | undefined>;
  /** The report page; ECharts from `echarts` (a local URL, or inlined). */
  html(sweep: string, echarts: EchartsSource, options?: { metric?: RankMetric }): Promise<string | undefined>;
  /**
   * Declares the sweep over (for sweeps whose spec the evaluator cannot read, or cancelled ones):
   * its phase becomes terminal and its report is written to the store. Undefined for an unknown sweep.
   */
  finalize(sweep: string): Promise<SweepReport | undefined>;
  /** The sweeps in memory. */
  sweeps(): SweepSummary[];
  /** Commits and acks what has been applied so far (tests, embedded mode before reading the store). */
  flush(): Promise<void>;
  /** Drops a sweep from memory at once (it was purged); true when it was loaded. */
  forget(sweep: string): Promise<boolean>;
  /** Evicts the finished sweeps whose final report has been stored for `evictAfterMs`; their ids. */
  evictFinished(): Promise<string[]>;
  readonly metrics: EvaluatorMetrics;
}

/** Validates a sweep id from outside (URL, call): EvaluatorError 'InvalidArgument' when malformed. */
export function parseSweepId(sweep: string): SweepId {
  const parsed = SweepId.safeParse(sweep);
  if (!parsed.success)
    throw new EvaluatorError('InvalidArgument', `'${sweep}' is not a sweep id: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Builds an evaluator from its clients; nothing happens until `start()`. */
export function createEvaluator(options: EvaluatorOptions): Evaluator {
  const { store, logger } = options;
  const defaultMetric = options.metric ?? 'test.accuracy';
  const states = new SweepStates({ store, logger });
  const images =
    options.sampleImages === false
      ? undefined
      : (options.sampleImages ??
        createSampleImageSource({
          openStore: options.openStore ?? ((url) => defaultOpenStore(url)),
          onProblem: (url, problem) => logger.warn(`no sample images from ${url}: ${problem}`, { dataset: url }),
        }));
  const cache = new Map<string, { version: number; report: Promise<SweepReport> }>();

  let consumer: EventConsumer | undefined;
  const metrics = createEvaluatorMetrics(options.registry, {
    sweeps: () => states.loaded().map((e) => e.aggregator.snapshot()),
    lag: async () => consumer?.lag(),
  });

  /** Report of a loaded sweep at its current version (cached per metric). */
  const reportOf = (entry: SweepEntry, metric: RankMetric): Promise<SweepReport> => {
    const snapshot = entry.aggregator.snapshot();
    const key = `${snapshot.sweep}\n${metric}`;
    const hit = cache.get(key);
    if (hit && hit.version === snapshot.version) return hit.report;
    const report = attachSampleImages(
      buildReport(snapshot, { metric, ...(options.alpha !== undefined ? { alpha: options.alpha } : {}) }),
      snapshot,
      images,
    );
    cache.set(key, { version: snapshot.version, report });
    report.catch(() => cache.delete(key));
    return report;
  };

  const writeReport = async (entry: SweepEntry): Promise<SweepReport> => {
    const version = entry.aggregator.version;
    const report = await reportOf(entry, defaultMetric);
    await writeReportArtifacts(store, report);
    entry.reportedVersion = version;
    entry.reportedAt = Date.now();
    metrics.reportsWritten.inc();
    logger.info(`report of sweep ${report.sweep} written (${report.phase})`, {
      sweep: report.sweep,
      phase: report.phase,
      verdict: report.verdict.text,
    });
    return report;
  };

  // Every write of state or reports goes through this chain: two writers of one trial file could
  // otherwise land out of order.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const commitOne = async (entry: SweepEntry): Promise<void> => {
    await states.persist(entry);
    await states.refreshPlan(entry);
    const a = entry.aggregator;
    if (a.snapshot().ended && entry.reportedVersion !== a.version) await writeReport(entry);
  };

  const commit = (entries: SweepEntry[]): Promise<Set<string>> =>
    serial(async () => {
      const failed = new Set<string>();
      for (const entry of entries) {
        try {
          await commitOne(entry);
        } catch (err) {
          failed.add(entry.aggregator.sweep);
          metrics.storeFailures.inc();
          logger.error(
            `cannot commit sweep ${entry.aggregator.sweep}: ${(err as Error).message}; its events come back`,
            {
              sweep: entry.aggregator.sweep,
            },
          );
        }
      }
      if (evictAfterMs === 0) await evictNow();
      return failed;
    });

  const openExisting = async (sweep: string): Promise<SweepEntry | undefined> =>
    states.open(parseSweepId(sweep), false);

  const dropCached = (sweep: string) => {
    for (const key of cache.keys()) if (key.startsWith(`${sweep}\n`)) cache.delete(key);
  };
  /** Finished, reported at its current version long enough ago, nothing waiting to be written or committed. */
  const evictNow = async (): Promise<string[]> => {
    const evicted: string[] = [];
    const now = Date.now();
    for (const entry of states.loaded()) {
      const a = entry.aggregator;
      if (
        entry.reportedVersion !== a.version ||
        entry.reportedAt === undefined ||
        now - entry.reportedAt < evictAfterMs ||
        entry.dirty.size > 0 ||
        entry.sweepDirty ||
        consumer?.holds(a.sweep) ||
        !a.snapshot().ended
      )
        continue;
      states.evict(a.sweep);
      dropCached(a.sweep);
      evicted.push(a.sweep);
    }
    if (evicted.length) logger.info(`evicted finished sweeps from memory: ${evicted.join(', ')}`, { sweeps: evicted });
    return evicted;
  };
  const evictAfterMs = options.evictAfterMs ?? 300_000;
  let evictTimer: NodeJS.Timeout | undefined;

  /** An evicted (or never loaded) finished sweep: its stored final report, when it was ranked by `metric`. */
  const storedFinal = async (sweep: string, metric: RankMetric): Promise<SweepReport | undefined> => {
    if (states.peek(sweep)) return undefined;
    try {
      const parsed = SweepReport.safeParse(
        JSON.parse((await store.get(`${keys.report(parseSweepId(sweep))}/report.json`)).toString('utf8')),
      );
      if (!parsed.success) return undefined;
      const r = parsed.data;
      return TERMINAL.has(r.phase) && r.comparison.metric === metric ? r : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    metrics,
    get consuming() {
      return consumer?.running ?? false;
    },

    async start() {
      if (consumer?.running) return;
      consumer = new EventConsumer({
        ...consumerSettings(options),
        bus: options.bus,
        metrics,
        logger,
        open: async (sweep) => (await states.open(sweep, true))!,
        commit,
        ...(options.launches ? { launches: options.launches } : {}),
      });
      await consumer.start();
      clearInterval(evictTimer);
      evictTimer = setInterval(() => void serial(evictNow), Math.min(Math.max(evictAfterMs, 1_000), 60_000));
      evictTimer.unref();
      logger.info('consuming trial events', { durable: options.durable ?? DEFAULT_DURABLE });
    },

    async stop() {
      clearInterval(evictTimer);
      await consumer?.stop();
    },

    forget: (sweep) =>
      serial(async () => {
        dropCached(sweep);
        return states.evict(parseSweepId(sweep));
      }),

    evictFinished: () => serial(evictNow),

    async flush() {
      await consumer?.flush();
    },

    async report(sweep, opts = {}) {
      const stored = await storedFinal(sweep, opts.metric ?? defaultMetric);
      if (stored) return stored;
      const entry = await openExisting(sweep);
      return entry ? reportOf(entry, opts.metric ?? defaultMetric) : undefined;
    },

    async html(sweep, echarts, opts = {}) {
      const stored = await storedFinal(sweep, opts.metric ?? defaultMetric);
      if (stored) return renderReportHtml(stored, echarts);
      const entry = await openExisting(sweep);
      return entry ? renderReportHtml(await reportOf(entry, opts.metric ?? defaultMetric), echarts) : undefined;
    },

    async finalize(sweep) {
      const entry = await openExisting(sweep);
      if (!entry) return undefined;
      return serial(async () => {
        if (entry.aggregator.finalize()) entry.sweepDirty = true;
        await states.persist(entry);
        return writeReport(entry);
      });
    },

    sweeps() {
      return states
        .loaded()
        .map((e) => e.aggregator.snapshot())
        .sort((a, b) => (a.sweep < b.sweep ? -1 : 1))
        .map((s) => ({ sweep: s.sweep, phase: s.phase, trials: s.trials.length, updatedAt: s.updatedAt }));
    },
  };
}
