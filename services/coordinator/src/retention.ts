/**
 * Purging sweeps, on request (`DELETE /v1/sweeps/{id}?purge=true`) or when a finished sweep is
 * older than the retention (FERSWEEP_RETENTION): its records (sweep, trials, scheduler state,
 * launch records), its events in the trial stream where the bus can purge them, the evaluator's
 * state and memory of it, its report and spec in the object store, and — only when asked
 * (`artifacts=true`) — the trials' artifacts under `sweeps/<id>/` (models, checkpoints). The name can be used again.
 * Retention counts from `finishedAt`; running sweeps never expire. As with Katib's experiment
 * deletion or MLflow's `gc`, a purge is final.
 */
import { keys } from '@fersweep/contracts';
import type { KeyValueStore } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import type { SweepRecord } from './state.js';

/** A duration: `30d`, `12h`, `90m`, `45s` or plain seconds; `0` or empty = keep forever (undefined). */
export function parseRetention(value: string | undefined): number | undefined {
  const v = value?.trim();
  if (!v || v === '0') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/.exec(v);
  if (!m) throw new Error(`'${value}' is not a duration: use e.g. 30d, 12h, 90m or 45s (0: keep forever)`);
  const unit = { d: 86_400, h: 3_600, m: 60, s: 1 }[(m[2] ?? 's') as 'd' | 'h' | 'm' | 's'];
  const ms = Number(m[1]) * unit * 1000;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 10 * 365 * 86_400_000)
    throw new Error(`'${value}' is out of range: between 1 s and 10 years`);
  return ms;
}

export const ENDED_PHASES: readonly string[] = ['Succeeded', 'Failed', 'Cancelled'];

/** Whether a sweep has outlived the retention at `now`. */
export function expired(sweep: SweepRecord, retentionMs: number | undefined, now = Date.now()): boolean {
  if (retentionMs === undefined || !ENDED_PHASES.includes(sweep.phase)) return false;
  const end = Date.parse(sweep.finishedAt ?? sweep.updatedAt);
  return Number.isFinite(end) && now - end >= retentionMs;
}

export interface PurgeDeps {
  kv: KeyValueStore;
  store: ObjectStore;
  logger: Logger;
  /** Deletes the sweep's events from the trial stream (NATS), when the bus can. */
  purgeEvents?: (sweep: string) => Promise<void>;
  /** Tells the evaluator to drop the sweep from memory. */
  forgetReport?: (sweep: string) => Promise<void>;
}

async function deleteKeys(kv: KeyValueStore, prefix: string): Promise<number> {
  const found: string[] = [];
  for await (const k of kv.keys(prefix)) found.push(k);
  for (const k of found) await kv.delete(k);
  return found.length;
}

/**
 * Removes an ended sweep's records and state (the caller cancels a running one first). The sweep
 * record goes last, so a purge interrupted half-way is found and finished by the next one.
 */
export async function purgeSweep(deps: PurgeDeps, id: string, options: { artifacts: boolean }): Promise<void> {
  const trials = await deleteKeys(deps.kv, `trials.${id}.`);
  await deleteKeys(deps.kv, `stopping.${id}.`);
  await deleteKeys(deps.kv, `launches.${id}.`);
  if (deps.purgeEvents)
    await deps
      .purgeEvents(id)
      .catch((err: unknown) =>
        deps.logger.warn('could not purge the sweep events from the stream', { sweep: id, error: String(err) }),
      );
  // The sweep's own records in the store always go — the evaluator's state, the report, the spec — so
  // that a reused name starts clean; the trials' artifacts (models, checkpoints) only on request.
  if (options.artifacts) await deps.store.deletePrefix(`sweeps/${id}/`);
  else {
    await deps.store.deletePrefix(`sweeps/${id}/evaluator/`);
    await deps.store.deletePrefix(`${keys.report(id)}/`);
    await deps.store.delete(keys.sweepSpec(id)).catch(() => undefined);
  }
  await deps.forgetReport?.(id);
  await deps.kv.delete(`sweeps.${id}`);
  deps.logger.info('sweep purged', { sweep: id, trials, artifacts: options.artifacts });
}

/** What the retention loop needs of the scheduler. */
export interface Purger {
  state: { listSweeps(): Promise<SweepRecord[]> };
  purge(id: string, options: { artifacts: boolean }): Promise<void>;
}

/**
 * Purges every finished sweep older than `retentionMs` (artifacts kept), now and then every
 * `intervalMs` (default a tenth of the retention, between 10 s and 10 min). Returns the stop function.
 */
export function startRetention(o: { scheduler: Purger; retentionMs: number; logger: Logger; intervalMs?: number }): {
  stop: () => Promise<void>;
  sweep: () => Promise<string[]>;
} {
  let running: Promise<string[]> | undefined;
  const sweep = (): Promise<string[]> =>
    (running ??= (async () => {
      const purged: string[] = [];
      try {
        for (const s of await o.scheduler.state.listSweeps()) {
          if (!expired(s, o.retentionMs)) continue;
          try {
            await o.scheduler.purge(s.id, { artifacts: false });
            purged.push(s.id);
          } catch (err) {
            o.logger.warn('could not purge an expired sweep', { sweep: s.id, error: String(err) });
          }
        }
        if (purged.length) o.logger.info('expired sweeps purged', { sweeps: purged, retentionMs: o.retentionMs });
      } catch (err) {
        o.logger.warn('retention pass failed', { error: String(err) });
      } finally {
        running = undefined;
      }
      return purged;
    })());
  const interval = o.intervalMs ?? Math.min(Math.max(o.retentionMs / 10, 10_000), 600_000);
  const timer = setInterval(() => void sweep(), interval);
  timer.unref();
  void sweep();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
