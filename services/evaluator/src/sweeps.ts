/**
 * The evaluator's memory, kept in the object store so that a restarted evaluator serves what an
 * uninterrupted one would: each trial's accepted events (one file per trial, rewritten when the
 * trial changes) and whether the sweep was finalized. Events are acked only after their trial's
 * file is written, so a crash loses nothing (unacked events come back) and counts nothing twice
 * (the reloaded events dedupe the redeliveries).
 *
 *   sweeps/<sweep>/evaluator/trials/<trial>.json   { format, sweep, trial, events: TrialEvent[] }
 *   sweeps/<sweep>/evaluator/sweep.json            { format, sweep, finalized }
 */
import { expandTrials, keys, selectionRuleOf, SweepSpec, TrialEvent, type SweepId } from '@fersweep/contracts';
import type { Logger } from '@fersweep/observability';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import { z } from 'zod';
import { SweepAggregator } from './aggregator.js';

/** Object-store keys of the evaluator's state, under the store root. */
export const evaluatorKeys = {
  root: (sweep: string) => `sweeps/${sweep}/evaluator`,
  trials: (sweep: string) => `sweeps/${sweep}/evaluator/trials/`,
  trial: (sweep: string, trial: string) => `sweeps/${sweep}/evaluator/trials/${trial}.json`,
  sweep: (sweep: string) => `sweeps/${sweep}/evaluator/sweep.json`,
} as const;

const TRIAL_FORMAT = 'fersweep-evaluator-trial/v1';
const SWEEP_FORMAT = 'fersweep-evaluator-sweep/v1';

const TrialFile = z.object({
  format: z.literal(TRIAL_FORMAT),
  sweep: z.string(),
  trial: z.string(),
  events: z.array(z.unknown()),
});
const SweepFile = z.object({ format: z.literal(SWEEP_FORMAT), sweep: z.string(), finalized: z.boolean() });

/** One loaded sweep: its aggregate and what is not yet written. */
export interface SweepEntry {
  readonly aggregator: SweepAggregator;
  /** Trials whose events changed since their file was written. */
  readonly dirty: Set<string>;
  /** The finalized flag changed since sweep.json was written. */
  sweepDirty: boolean;
  /** Aggregator version whose report is in the store (undefined: not written by this process). */
  reportedVersion: number | undefined;
  /** When that report was written (ms since epoch): finished sweeps are evicted some time after. */
  reportedAt?: number;
}

/** Options of {@link SweepStates}. */
export interface SweepStatesOptions {
  /** The store root (FERSWEEP_STORE): sweeps/<id>/… live under it. */
  store: ObjectStore;
  logger: Logger;
  /** Most files written at once. Default 8. */
  writeConcurrency?: number;
}

const isNotFound = (err: unknown) => err instanceof StoreError && err.code === 'NotFound';

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure after all settle. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/** Every sweep the evaluator has loaded, loading each from the store on first use. */
export class SweepStates {
  readonly #store: ObjectStore;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #entries = new Map<string, SweepEntry>();
  readonly #loading = new Map<string, Promise<SweepEntry | undefined>>();
  readonly #badSpecs = new Set<string>();

  constructor(options: SweepStatesOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#concurrency = options.writeConcurrency ?? 8;
  }

  /** The sweeps in memory, by id. */
  loaded(): SweepEntry[] {
    return [...this.#entries.values()];
  }

  /** Drops a sweep from memory (its state stays in the store; `open` loads it again). */
  evict(sweep: string): boolean {
    this.#badSpecs.delete(sweep);
    return this.#entries.delete(sweep);
  }

  /** A sweep in memory, without touching the store. */
  peek(sweep: string): SweepEntry | undefined {
    return this.#entries.get(sweep);
  }

  /**
   * The sweep, loaded from the store on first use. Unknown to the store (no events, no spec):
   * a fresh empty sweep when `create`, else undefined.
   */
  async open(sweep: SweepId, create: boolean): Promise<SweepEntry | undefined> {
    const entry = this.#entries.get(sweep);
    if (entry) return entry;
    let loading = this.#loading.get(sweep);
    if (!loading) {
      loading = this.#load(sweep).finally(() => this.#loading.delete(sweep));
      this.#loading.set(sweep, loading);
    }
    const loaded = await loading;
    if (loaded) return loaded;
    if (!create) return undefined;
    // Another caller may have created it while we waited.
    const existing = this.#entries.get(sweep);
    if (existing) return existing;
    const fresh: SweepEntry = {
      aggregator: new SweepAggregator(sweep),
      dirty: new Set(),
      sweepDirty: false,
      reportedVersion: undefined,
    };
    this.#entries.set(sweep, fresh);
    return fresh;
  }

  async #load(sweep: SweepId): Promise<SweepEntry | undefined> {
    const aggregator = new SweepAggregator(sweep);
    let found = false;
    const files: string[] = [];
    for await (const info of this.#store.list(evaluatorKeys.trials(sweep))) {
      if (info.key.endsWith('.json')) files.push(info.key);
    }
    let events = 0;
    await eachLimited(files, this.#concurrency, async (key) => {
      const parsed = TrialFile.safeParse(safeJson(await this.#store.get(key)));
      if (!parsed.success || parsed.data.sweep !== sweep) {
        this.#logger.warn(`ignoring ${key}: not an evaluator trial file of sweep ${sweep}`, { sweep, key });
        return;
      }
      for (const raw of parsed.data.events) {
        const event = TrialEvent.safeParse(raw);
        if (event.success) {
          aggregator.apply(event.data);
          events++;
        }
      }
      found = true;
    });
    try {
      const marker = SweepFile.safeParse(safeJson(await this.#store.get(evaluatorKeys.sweep(sweep))));
      if (marker.success && marker.data.finalized) aggregator.finalize();
      found = true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (await this.#readPlan(aggregator)) found = true;
    if (!found) return undefined;
    const entry: SweepEntry = { aggregator, dirty: new Set(), sweepDirty: false, reportedVersion: undefined };
    this.#entries.set(sweep, entry);
    this.#logger.info(`loaded sweep ${sweep}: ${files.length} trials, ${events} events`, {
      sweep,
      trials: files.length,
      events,
    });
    return entry;
  }

  /**
   * Reads `sweeps/<id>/spec.json` (written by the coordinator) into the aggregator's plan; true when
   * the spec exists. A spec that does not parse is logged once and treated as absent.
   */
  async #readPlan(aggregator: SweepAggregator): Promise<boolean> {
    const sweep = aggregator.sweep;
    let raw: Buffer;
    try {
      raw = await this.#store.get(keys.sweepSpec(sweep));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    const spec = SweepSpec.safeParse(safeJson(raw));
    if (!spec.success) {
      if (!this.#badSpecs.has(sweep)) {
        this.#badSpecs.add(sweep);
        const issue = spec.error.issues[0];
        this.#logger.warn(
          `${keys.sweepSpec(sweep)} is not a valid sweep spec (${issue?.path.join('.') || '(root)'}: ${issue?.message}); ` +
            'the evaluator cannot tell when the sweep ends until it is fixed or the sweep is finalized',
          { sweep },
        );
      }
      return false;
    }
    aggregator.setPlan(
      expandTrials(spec.data).map((t) => ({
        trial: t.trial,
        variant: t.variant,
        model: t.model,
        params: t.params,
        epochs: t.epochs,
        seed: t.seed,
        ...replicateOf(t),
      })),
      spec.data.spec.retries,
      selectionRuleOf(spec.data.spec),
    );
    return true;
  }

  /**
   * Looks for the sweep's spec again when it matters: not known yet, and every trial seen is
   * terminal (the only time the plan can end the sweep).
   */
  async refreshPlan(entry: SweepEntry): Promise<void> {
    const a = entry.aggregator;
    if (a.planned || a.finalized) return;
    const trials = a.snapshot().trials;
    if (
      trials.length > 0 &&
      trials.every((t) => t.phase === 'Succeeded' || t.phase === 'Failed' || t.phase === 'Stopped')
    )
      await this.#readPlan(a);
  }

  /** Writes what changed (dirty trials, the finalized flag); on failure they stay dirty. */
  async persist(entry: SweepEntry): Promise<void> {
    const a = entry.aggregator;
    const trials = [...entry.dirty];
    await eachLimited(trials, this.#concurrency, async (trial) => {
      entry.dirty.delete(trial);
      try {
        const body = { format: TRIAL_FORMAT, sweep: a.sweep, trial, events: a.events(trial) };
        await this.#store.put(evaluatorKeys.trial(a.sweep, trial), JSON.stringify(body), {
          contentType: 'application/json',
        });
      } catch (err) {
        entry.dirty.add(trial);
        throw err;
      }
    });
    if (entry.sweepDirty) {
      entry.sweepDirty = false;
      try {
        const body = { format: SWEEP_FORMAT, sweep: a.sweep, finalized: a.finalized };
        await this.#store.put(evaluatorKeys.sweep(a.sweep), JSON.stringify(body), { contentType: 'application/json' });
      } catch (err) {
        entry.sweepDirty = true;
        throw err;
      }
    }
  }
}

function safeJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A planned trial's seed replicate, when its plan has one (sweeps with `replicates`). */
function replicateOf(plan: object): { replicate?: number } {
  const r = (plan as { replicate?: unknown }).replicate;
  return typeof r === 'number' ? { replicate: r } : {};
}
