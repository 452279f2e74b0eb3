/**
 * The embedded-mode bus and KV store: in-process, with the semantics a consumer relies on from
 * JetStream (dedupe by id, durable consumers, ack/nak/ack_wait/max_deliver, max_ack_pending,
 * NATS subject filters), so the evaluator and coordinator run unchanged on a laptop.
 * Differences, on purpose: dedupe lasts forever (no window), nothing survives the process.
 */
import type { TrialEvent } from '@fersweep/contracts';
import {
  assertKey,
  assertRevision,
  encodeEvent,
  resolveConsume,
  silentLogger,
  streamMsgId,
  subjectOf,
  toBytes,
  validateEvent,
} from './codec.js';
import type { ResolvedConsume } from './codec.js';
import { AsyncQueue } from './queue.js';
import { assertSubjectFilter, subjectMatches } from './subjects.js';
import { makeDelivery, SubscriptionBase } from './subscription.js';
import {
  MessagingError,
  type Bus,
  type ConsumeOptions,
  type Delivery,
  type KeyValueStore,
  type KvEntry,
  type KvWatch,
  type KvWatchEntry,
  type KvWatchOptions,
  type Logger,
  type PublishResult,
  type Subscription,
} from './types.js';

interface Stored {
  seq: number;
  subject: string;
  id: string;
  raw: Uint8Array;
}

/** A stored message delivered and not yet acked (JetStream's ack-pending set). */
interface Outstanding {
  deliveries: number;
  /** Bumped on every delivery, so a nak from an older delivery cannot settle a newer one. */
  generation: number;
  /** Waiting for redelivery (nak'ed or ack_wait expired). */
  due: boolean;
  timer?: NodeJS.Timeout;
}

class Durable {
  /** The next stream sequence never delivered to this durable. */
  nextSeq: number;
  readonly outstanding = new Map<number, Outstanding>();
  #wakers = new Set<() => void>();

  constructor(
    readonly config: ResolvedConsume,
    readonly stream: Stored[],
  ) {
    this.nextSeq = config.deliverFrom === 'new' ? stream.length + 1 : 1;
  }

  /** Resolves at the next change that may make a delivery possible. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#wakers.add(resolve));
  }

  wake(): void {
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const w of wakers) w();
  }

  /** Redeliveries first (lowest sequence first), then new messages while under max_ack_pending. */
  take(): { stored: Stored; deliveries: number; generation: number } | undefined {
    let seq: number | undefined;
    for (const [s, o] of this.outstanding) if (o.due && (seq === undefined || s < seq)) seq = s;
    if (seq === undefined && this.outstanding.size < this.config.maxInFlight) {
      for (; this.nextSeq <= this.stream.length; this.nextSeq++) {
        const candidate = this.stream[this.nextSeq - 1];
        if (candidate && subjectMatches(this.config.filter, candidate.subject)) {
          seq = this.nextSeq++;
          this.outstanding.set(seq, { deliveries: 0, generation: 0, due: true });
          break;
        }
      }
    }
    const o = seq === undefined ? undefined : this.outstanding.get(seq);
    const stored = seq === undefined ? undefined : this.stream[seq - 1];
    if (seq === undefined || !o || !stored) return undefined;
    o.due = false;
    o.deliveries++;
    o.generation++;
    this.#arm(seq, o, this.config.ackWaitMs);
    return { stored, deliveries: o.deliveries, generation: o.generation };
  }

  #arm(seq: number, o: Outstanding, ms: number): void {
    clearTimeout(o.timer);
    const generation = o.generation;
    // unref: a pending redelivery alone must not keep an embedded run's process alive.
    o.timer = setTimeout(() => this.#redeliver(seq, generation), ms).unref();
  }

  #redeliver(seq: number, generation: number): void {
    const o = this.outstanding.get(seq);
    if (!o || o.generation !== generation || o.due) return;
    clearTimeout(o.timer);
    // Like JetStream: after max_deliver deliveries the message is given up on (no longer pending).
    if (o.deliveries >= this.config.maxDeliver) this.outstanding.delete(seq);
    else o.due = true;
    this.wake();
  }

  ack(seq: number): void {
    const o = this.outstanding.get(seq);
    if (!o) return;
    clearTimeout(o.timer);
    this.outstanding.delete(seq);
    this.wake();
  }

  nak(seq: number, generation: number, delayMs: number): void {
    const o = this.outstanding.get(seq);
    if (!o || o.generation !== generation || o.due) return;
    if (delayMs > 0) this.#arm(seq, o, delayMs);
    else this.#redeliver(seq, generation);
  }

  /** Messages not yet delivered plus deliveries not yet acked. */
  lag(): number {
    let undelivered = 0;
    for (let s = this.nextSeq; s <= this.stream.length; s++) {
      const m = this.stream[s - 1];
      if (m && subjectMatches(this.config.filter, m.subject)) undelivered++;
    }
    return undelivered + this.outstanding.size;
  }

  clear(): void {
    for (const o of this.outstanding.values()) clearTimeout(o.timer);
  }
}

class MemorySubscription extends SubscriptionBase {
  #wakeStop: (() => void) | undefined;

  constructor(
    readonly state: Durable,
    options: ConsumeOptions,
    logger: Logger,
    private readonly onStop: (s: MemorySubscription) => void,
  ) {
    super(state.config.durable, options.handler, logger);
    this.start();
  }

  protected async take(): Promise<Delivery | undefined> {
    while (!this.stopped) {
      const next = this.state.take();
      if (next) {
        const { stored, deliveries, generation } = next;
        const durable = this.state;
        return makeDelivery(
          { subject: stored.subject, raw: stored.raw, seq: stored.seq, deliveryCount: deliveries, msgId: stored.id },
          {
            ack: async () => durable.ack(stored.seq),
            nak: async (delayMs) => durable.nak(stored.seq, generation, delayMs ?? 0),
            term: async () => durable.ack(stored.seq),
          },
        );
      }
      await Promise.race([this.state.changed(), new Promise<void>((r) => (this.#wakeStop = r))]);
    }
    return undefined;
  }

  protected async shutdown(): Promise<void> {
    this.onStop(this);
    this.#wakeStop?.();
  }

  async pending(): Promise<number> {
    return this.state.lag();
  }
}

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions {
  logger?: Logger;
}

/**
 * The in-process bus of embedded mode. Same contract as the NATS bus: validation on publish,
 * dedupe by `event.id` (forever, not for a window), durable consumers that start from the first
 * event by default, ack/nak/term, ack_wait redelivery, max_deliver, max_ack_pending, and NATS
 * wildcard filters.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const logger = options.logger ?? silentLogger;
  const stream: Stored[] = [];
  const ids = new Map<string, number>();
  const durables = new Map<string, Durable>();
  const subscriptions = new Set<MemorySubscription>();
  let closed = false;

  const assertOpen = (what: string) => {
    if (closed) throw new MessagingError('Closed', `cannot ${what}: the in-process bus is closed`);
  };

  return {
    async publish(event: TrialEvent): Promise<PublishResult> {
      assertOpen('publish');
      const valid = validateEvent(event);
      // The same dedupe key as the NATS stream's (the id, tagged by the event's launch).
      const key = streamMsgId(valid);
      const existing = ids.get(key);
      if (existing !== undefined) {
        logger.debug(`duplicate event ${valid.id} dropped`, { id: valid.id, seq: existing });
        return { duplicate: true, seq: existing };
      }
      // Stored as bytes, like on the wire: consumers get their own copy, never the publisher's object.
      const stored: Stored = {
        seq: stream.length + 1,
        subject: subjectOf(valid),
        id: key,
        raw: encodeEvent(valid),
      };
      stream.push(stored);
      ids.set(key, stored.seq);
      for (const d of durables.values()) d.wake();
      return { duplicate: false, seq: stored.seq };
    },

    async consume(consumeOptions: ConsumeOptions): Promise<Subscription> {
      assertOpen('consume');
      const config = resolveConsume(consumeOptions);
      let state = durables.get(config.durable);
      if (state && state.config.filter !== config.filter)
        throw new MessagingError(
          'ConsumerConflict',
          `durable '${config.durable}' exists with filter '${state.config.filter}', not '${config.filter}': use another durable name`,
        );
      if (!state) {
        state = new Durable(config, stream);
        durables.set(config.durable, state);
      } else {
        // JetStream lets these change on an existing durable; keep the same behaviour.
        Object.assign(state.config, {
          maxInFlight: config.maxInFlight,
          ackWaitMs: config.ackWaitMs,
          maxDeliver: config.maxDeliver,
        });
      }
      const sub = new MemorySubscription(state, consumeOptions, logger, (s) => subscriptions.delete(s));
      subscriptions.add(sub);
      return sub;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      for (const d of durables.values()) d.clear();
    },
  };
}

interface KvRecord {
  value?: Uint8Array;
  revision: number;
  operation: 'PUT' | 'DEL';
}

/**
 * The in-process KeyValueStore of embedded mode: the NATS KV semantics the coordinator relies on
 * (revisions from one bucket-wide counter, create/update compare-and-set, delete markers, watch
 * with the current values first) and the same key rules.
 */
export function createMemoryKv(bucket = 'fersweep'): KeyValueStore {
  const records = new Map<string, KvRecord>();
  const watchers = new Set<{ filter: string; queue: AsyncQueue<KvWatchEntry> }>();
  let revision = 0;

  const write = (key: string, value: Uint8Array | undefined): number => {
    const record: KvRecord =
      value === undefined
        ? { revision: ++revision, operation: 'DEL' }
        : { value: new Uint8Array(value), revision: ++revision, operation: 'PUT' };
    records.set(key, record);
    for (const w of watchers) if (subjectMatches(w.filter, key)) w.queue.push(toEntry(key, record));
    return record.revision;
  };
  const toEntry = (key: string, r: KvRecord): KvWatchEntry =>
    r.value
      ? { key, value: new Uint8Array(r.value), revision: r.revision, operation: r.operation }
      : { key, revision: r.revision, operation: r.operation };
  const current = (key: string) => {
    const r = records.get(key);
    return r && r.operation === 'PUT' ? r : undefined;
  };

  return {
    bucket,
    async get(key: string): Promise<KvEntry | undefined> {
      assertKey(key);
      const r = current(key);
      return r?.value ? { value: new Uint8Array(r.value), revision: r.revision } : undefined;
    },
    async put(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      return write(key, toBytes(value));
    },
    async create(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      if (current(key)) throw new MessagingError('Exists', `key '${key}' already exists in bucket '${bucket}'`);
      return write(key, toBytes(value));
    },
    async update(key: string, value: Uint8Array | string, expected: number): Promise<number> {
      assertKey(key);
      assertRevision(expected);
      // JetStream compares against the subject's last sequence, delete markers included.
      const last = records.get(key)?.revision ?? 0;
      if (last !== expected)
        throw new MessagingError(
          'WrongRevision',
          `key '${key}' in bucket '${bucket}' is at revision ${last}, not ${expected}: read it again and retry`,
        );
      return write(key, toBytes(value));
    },
    async delete(key: string): Promise<void> {
      assertKey(key);
      if (records.has(key)) write(key, undefined);
    },
    async *keys(prefix = ''): AsyncIterable<string> {
      for (const [key, r] of [...records]) if (r.operation === 'PUT' && key.startsWith(prefix)) yield key;
    },
    async watch(options: KvWatchOptions = {}): Promise<KvWatch> {
      const filter = options.key ?? '>';
      assertSubjectFilter(filter, 'key filter');
      const queue = new AsyncQueue<KvWatchEntry>();
      if (!options.updatesOnly)
        [...records]
          .filter(([key]) => subjectMatches(filter, key))
          .sort(([, a], [, b]) => a.revision - b.revision)
          .forEach(([key, r]) => queue.push(toEntry(key, r)));
      const watcher = { filter, queue };
      watchers.add(watcher);
      const stop = () => {
        watchers.delete(watcher);
        queue.end();
      };
      return {
        stop,
        [Symbol.asyncIterator]: () => ({
          next: () => queue.next(),
          return: async () => (stop(), { value: undefined, done: true }),
        }),
      };
    },
  };
}
