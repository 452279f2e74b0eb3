import { z } from 'zod';
import { SweepBudget, SweepSpec, TrialSpec } from '@fersweep/contracts';
import { BestVal, TrialSearch } from './search-record.js';
import { MessagingError, type KeyValueStore } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import { openFileBackedKv } from './file-kv.js';
import { SweepIndex } from './tenancy/sweep-index.js';

/** `Stopped`: ended by the sweep's scheduler (ASHA or median rule) — terminal, and a success for the sweep. */
export const TrialPhase = z.enum(['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'Stopped']);
export type TrialPhase = z.infer<typeof TrialPhase>;
export const SweepPhase = z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled']);
export type SweepPhase = z.infer<typeof SweepPhase>;
export const TERMINAL_TRIAL: readonly TrialPhase[] = ['Succeeded', 'Failed', 'Cancelled', 'Stopped'];

export const TrialRecord = z.object({
  sweep: z.string(),
  trial: z.string(),
  variant: z.string(),
  phase: TrialPhase,
  /** Failed attempts that count against `retries` (preemptions do not). */
  failures: z.number().int().min(0),
  /** Attempts started, preempted ones included. */
  attempts: z.number().int().min(0),
  preemptions: z.number().int().min(0),
  /**
   * The trial's spec with its *own* params only — the search point's model params (and a TPE
   * suggestion's, once made): the variant's params live once, in the sweep's spec, and are merged
   * under these at launch (`trialSpecOf`), so a sweep with large params does not copy them into every
   * record (issue 12, item 5). Records written before hold the whole params; the merge keeps them.
   */
  spec: TrialSpec,
  message: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** The trainer's own account of its latest failed attempt (trial.failed): stable code and reason. */
  error: z
    .object({ code: z.string(), reason: z.string(), exitCode: z.number().int(), retryable: z.boolean() })
    .optional(),
  lastEpoch: z
    .object({
      epoch: z.number(),
      loss: z.number(),
      accuracy: z.number(),
      valLoss: z.number(),
      valAccuracy: z.number(),
      /** How long that epoch took: what the progress bars' ETA is computed from. */
      seconds: z.number().optional(),
    })
    .optional(),
  /** From `trial.completed`: the epoch the kept model comes from, and whether early stopping ended the run. */
  bestEpoch: z.number().int().optional(),
  stoppedEarly: z.boolean().optional(),
  modelUri: z.string().optional(),
  /** Why the sweep's scheduler stopped it: the epoch it was judged at, the rung, the threshold missed. */
  stopped: z
    .object({
      epoch: z.number().int(),
      rung: z.number().int().optional(),
      threshold: z.number().optional(),
      reason: z.string(),
    })
    .optional(),
  /**
   * A search trial: its configuration's index within its variant and the point it tries. TPE
   * trials are planned without a point; it is suggested and stored here (and in `spec`) just before
   * the launch, so a restarted coordinator launches the same point.
   */
  search: TrialSearch.optional(),
  /** The best value of each validation metric over the epochs so far, with its epoch: a search's objective. */
  bestVal: BestVal.optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  updatedAt: z.string(),
});
export type TrialRecord = z.infer<typeof TrialRecord>;

export const SweepRecord = z.object({
  id: z.string(),
  spec: SweepSpec,
  /** sha256 of the canonical spec: resubmission with the same hash is idempotent. */
  specHash: z.string(),
  phase: SweepPhase,
  trialIds: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
  idempotencyKey: z.string().optional(),
  /** What each variant is given (configurations, replicates, epochs) and whether it is equal: contracts `sweepBudget`. */
  budget: SweepBudget.optional(),
});
export type SweepRecord = z.infer<typeof SweepRecord>;

const enc = (v: unknown) => JSON.stringify(v);
const safeJson = (bytes: Uint8Array): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
const dec = <T>(schema: z.ZodType<T>, bytes: Uint8Array) =>
  schema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));

/**
 * Sweeps and trials in a key-value store (NATS JetStream KV on a cluster, a file-backed one in
 * embedded mode): `sweeps.<id>`, `trials.<sweep>.<trial>`. Updates are compare-and-set with retry,
 * so concurrent writers (a watch callback and an API call) never lose each other's change.
 */
export class SweepState {
  private readonly summaries = new SweepIndex();
  private indexing?: Promise<SweepIndex>;
  /** Sweeps written while the index was being built: read again once it is. */
  private dirty?: Set<string>;

  constructor(readonly kv: KeyValueStore) {}

  /**
   * The sweep list and phase counts (tenancy/sweep-index.ts), built by one pass over the store at the
   * first call and kept current by every write through this object afterwards.
   */
  index(): Promise<SweepIndex> {
    this.indexing ??= (async () => {
      this.dirty = new Set();
      for await (const key of this.kv.keys('sweeps.')) await this.reindex(key.slice('sweeps.'.length));
      while (this.dirty.size) {
        const again = [...this.dirty];
        this.dirty.clear();
        for (const id of again) await this.reindex(id);
      }
      this.dirty = undefined;
      return this.summaries;
    })();
    return this.indexing;
  }

  private async reindex(id: string): Promise<void> {
    const s = await this.getSweep(id);
    if (!s) return this.summaries.remove(id);
    const phases: string[] = [];
    for (const t of s.trialIds) {
      const e = await this.kv.get(`trials.${id}.${t}`);
      const phase = e && TrialRecord.shape.phase.safeParse(safeJson(e.value)?.phase);
      if (phase?.success) phases.push(phase.data);
    }
    this.summaries.put(s, phases);
  }

  /** A sweep whose records were deleted (purge, retention): it leaves the list and the counters. */
  forgetIndexed(id: string): void {
    this.indexed(id, (index) => index.remove(id));
  }

  /** Keeps the index current after a write (or marks the sweep for a re-read while it is built). */
  private indexed(sweep: string, apply: (index: SweepIndex) => void): void {
    if (this.dirty) this.dirty.add(sweep);
    else if (this.indexing) apply(this.summaries);
  }

  async getSweep(id: string): Promise<SweepRecord | undefined> {
    const e = await this.kv.get(`sweeps.${id}`);
    return e && dec(SweepRecord, e.value);
  }

  /**
   * Creates the sweep, then its trials; MessagingError 'Exists' when the sweep id is taken — and
   * then nothing is written: the sweep record is the claim (create-if-absent), so of two replicas
   * submitting the same name at once, the loser never touches the winner's trials. A creator that
   * dies between the two leaves a sweep with missing trial records: `restoreTrials` completes it.
   */
  async createSweep(sweep: SweepRecord, trials: TrialRecord[]): Promise<void> {
    await this.kv.create(`sweeps.${sweep.id}`, enc(sweep));
    // A few writes in flight: round trips (NATS) and fsyncs (file store) overlap.
    for (let i = 0; i < trials.length; i += 32)
      await Promise.all(trials.slice(i, i + 32).map((t) => this.kv.put(`trials.${t.sweep}.${t.trial}`, enc(t))));
    this.indexed(sweep.id, (index) =>
      index.put(
        sweep,
        trials.map((t) => t.phase),
      ),
    );
  }

  /**
   * Writes the trial records of `sweep` that are missing (a creator interrupted after the sweep
   * record, or a record quarantined at open), create-if-absent so that it never overwrites one;
   * `planned` is the sweep's trial list as its spec expands. Returns the ids restored.
   */
  async restoreTrials(sweep: SweepRecord, planned: TrialRecord[]): Promise<string[]> {
    const restored: string[] = [];
    const ids = new Set(sweep.trialIds);
    for (const t of planned) {
      if (!ids.has(t.trial) || (await this.kv.get(`trials.${t.sweep}.${t.trial}`))) continue;
      try {
        await this.kv.create(`trials.${t.sweep}.${t.trial}`, enc(t));
        restored.push(t.trial);
        this.indexed(sweep.id, (index) => index.trialAdded(sweep.id, t.phase));
      } catch (err) {
        if (!(err instanceof MessagingError && err.code === 'Exists')) throw err;
      }
    }
    return restored;
  }

  async listSweeps(): Promise<SweepRecord[]> {
    const out: SweepRecord[] = [];
    for await (const key of this.kv.keys('sweeps.')) {
      const s = await this.getSweep(key.slice('sweeps.'.length));
      if (s) out.push(s);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async getTrial(sweep: string, trial: string): Promise<TrialRecord | undefined> {
    const e = await this.kv.get(`trials.${sweep}.${trial}`);
    return e && dec(TrialRecord, e.value);
  }

  async trials(sweep: SweepRecord): Promise<TrialRecord[]> {
    const out: TrialRecord[] = [];
    for (const id of sweep.trialIds) {
      const t = await this.getTrial(sweep.id, id);
      if (t) out.push(t);
    }
    return out;
  }

  /**
   * The sweep scheduler's decisions so far for one variant (`stopping.<sweep>.<variant>`: packages/
   * search's StoppingState as JSON — one key per variant, as trials are only judged within theirs)
   * with its revision, for a compare-and-set update.
   */
  async getStopping(sweep: string, variant: string): Promise<{ state: unknown; revision: number } | undefined> {
    const e = await this.kv.get(`stopping.${sweep}.${variant}`);
    return e && { state: JSON.parse(Buffer.from(e.value).toString('utf8')) as unknown, revision: e.revision };
  }

  /**
   * Writes the scheduler's state: created when `revision` is undefined, else compare-and-set on it.
   * MessagingError 'Exists' / 'WrongRevision' when another writer came first.
   */
  async putStopping(sweep: string, variant: string, state: unknown, revision: number | undefined): Promise<void> {
    const key = `stopping.${sweep}.${variant}`;
    if (revision === undefined) await this.kv.create(key, enc(state));
    else await this.kv.update(key, enc(state), revision);
  }

  async updateSweep(id: string, change: (s: SweepRecord) => SweepRecord | undefined): Promise<SweepRecord | undefined> {
    let changed = false;
    const next = await this.cas(`sweeps.${id}`, SweepRecord, (s) => {
      const n = change(s);
      changed = n !== undefined;
      return n;
    });
    if (next && changed) this.indexed(id, (index) => index.sweepChanged(next));
    return next;
  }

  async updateTrial(
    sweep: string,
    trial: string,
    change: (t: TrialRecord) => TrialRecord | undefined,
  ): Promise<TrialRecord | undefined> {
    let from: string | undefined;
    const next = await this.cas(`trials.${sweep}.${trial}`, TrialRecord, (t) => {
      const n = change(t);
      from = n ? t.phase : undefined;
      return n;
    });
    if (next && from !== undefined) {
      const was = from;
      this.indexed(sweep, (index) => index.trialChanged(sweep, was, next.phase));
    }
    return next;
  }

  /** Read-modify-write with compare-and-set; `change` returning undefined means "no change". */
  private async cas<T extends { updatedAt: string }>(
    key: string,
    schema: z.ZodType<T>,
    change: (v: T) => T | undefined,
  ): Promise<T | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await this.kv.get(key);
      if (!e) return undefined;
      const current = dec(schema, e.value);
      const next = change(current);
      if (!next) return current;
      try {
        await this.kv.update(key, enc({ ...next, updatedAt: new Date().toISOString() }), e.revision);
        return next;
      } catch (err) {
        if (!(err instanceof MessagingError && err.code === 'WrongRevision')) throw err;
      }
    }
    throw new Error(`could not update ${key}: too many concurrent writers`);
  }
}

/** Throws unless `value` is a record of the kind its key names (the state folder's validator). */
export function validateRecord(key: string, value: Uint8Array): void {
  const json: unknown = JSON.parse(Buffer.from(value).toString('utf8'));
  if (key.startsWith('sweeps.')) SweepRecord.parse(json);
  else if (key.startsWith('trials.')) TrialRecord.parse(json);
}

/**
 * Embedded mode's state store: the in-process KV, written through to one JSON file per key under
 * `dir` (crash-safe: temp file, fsync, rename, fsync of the folder), reloaded at open — so
 * `fersweep run` survives Ctrl-C and resumes. A record that does not parse is moved aside to
 * `<file>.corrupt-<timestamp>` with one warning instead of stopping the start. One process owns
 * the directory at a time.
 */
export function openFileKv(
  dir: string,
  options: { bucket?: string; logger?: Pick<Logger, 'warn'> } = {},
): Promise<KeyValueStore> {
  return openFileBackedKv(dir, { ...options, validate: validateRecord });
}
