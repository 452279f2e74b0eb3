/**
 * Checks that a trial event belongs to the trial's current launch, against the launch records the
 * coordinator writes (`launches.<sweep>.<trial>` in its KV bucket) before it starts a run. Used by
 * the evaluator and by the coordinator's own event consumer, so that an in-cluster client able to
 * publish trial events (or a trainer of another sweep) cannot complete, fail or rewrite a trial it
 * was not launched as: it does not know the launch's nonce.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { LaunchRecord, launchKey, type LaunchRejection, type TrialEvent } from '@fersweep/contracts';
import { COORDINATOR_EVENT_TYPES } from './permissions.js';
import type { KeyValueStore } from './types.js';

export type LaunchCheck = { ok: true } | { ok: false; reason: LaunchRejection; detail: string };

export interface LaunchVerifierOptions {
  /** The coordinator's KV bucket (read-only access to `launches.>` is enough). */
  kv: KeyValueStore;
  /** Launch records cached at most (the cache is cleared when full). Default 100,000. */
  cacheSize?: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Verifies events against launch records; caches records, re-reading one when an event names a newer launch. */
export class LaunchVerifier {
  readonly #kv: KeyValueStore;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, LaunchRecord>();

  constructor(options: LaunchVerifierOptions) {
    this.#kv = options.kv;
    this.#cacheSize = options.cacheSize ?? 100_000;
  }

  async #read(sweep: string, trial: string): Promise<LaunchRecord | undefined> {
    const key = launchKey(sweep, trial);
    const entry = await this.#kv.get(key);
    if (!entry) return undefined;
    let parsed;
    try {
      parsed = LaunchRecord.safeParse(JSON.parse(Buffer.from(entry.value).toString('utf8')));
    } catch {
      return undefined;
    }
    if (!parsed.success) return undefined;
    if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
    this.#cache.set(key, parsed.data);
    return parsed.data;
  }

  /**
   * Whether `event` may be applied. Events only the coordinator publishes (`trial.stopped`; NATS
   * permissions keep trainers off their subjects) need a launched trial but carry no nonce. Throws
   * when the KV store cannot be read (the caller retries the event later).
   */
  async check(event: TrialEvent): Promise<LaunchCheck> {
    const where = `${event.sweep}/${event.trial}`;
    const key = launchKey(event.sweep, event.trial);
    let record = this.#cache.get(key);
    // Unknown, or the event names a later launch than the cached one: the record may have moved on.
    if (!record || (event.launch && event.launch.seq > record.seq)) record = await this.#read(event.sweep, event.trial);
    if (!record) return { ok: false, reason: 'UnknownTrial', detail: `the coordinator never launched ${where}` };
    if (COORDINATOR_EVENT_TYPES.includes(event.type)) return { ok: true };
    const launch = event.launch;
    if (!launch) return { ok: false, reason: 'MissingLaunch', detail: `event for ${where} carries no launch` };
    if (launch.seq < record.seq)
      return {
        ok: false,
        reason: 'StaleLaunch',
        detail: `event of launch ${launch.seq} of ${where}, whose current launch is ${record.seq}`,
      };
    if (launch.seq > record.seq || !timingSafeEqual(digest(launch.nonce), digest(record.nonce)))
      return { ok: false, reason: 'ForgedLaunch', detail: `event for ${where} does not carry its launch's nonce` };
    return { ok: true };
  }

  /** Drops the cached records of a sweep (purged or evicted). */
  forget(sweep: string): void {
    const prefix = `launches.${sweep}.`;
    for (const key of this.#cache.keys()) if (key.startsWith(prefix)) this.#cache.delete(key);
  }
}

/** The event without its launch (what is kept: the nonce is not written anywhere a trainer could read). */
export function withoutLaunch<E extends TrialEvent>(event: E): E {
  if (!event.launch) return event;
  const { launch: _launch, ...rest } = event;
  return rest as E;
}
