/**
 * The Bus and KeyValueStore on NATS JetStream (nats.js v3), for nats-server 2.9 and later: one
 * stream for all trial events (file storage, a duplicate window keyed on `Nats-Msg-Id`), durable
 * pull consumers with explicit ack, and JetStream KV. Only 2.9-era features are used: one filter
 * subject per consumer, no subject transforms, no per-message TTL, no consumer `action` semantics
 * (2.9 ignores it and silently updates an existing durable, so the checks are done here).
 */
import { NATS, type TrialEvent } from '@fersweep/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  assertKey,
  assertRevision,
  encodeEvent,
  parseServers,
  redactUrl,
  resolveConsume,
  silentLogger,
  subjectOf,
  toBytes,
  validateEvent,
  type ResolvedConsume,
} from './codec.js';
import { AsyncQueue } from './queue.js';
import { assertSubjectFilter, subjectIsSubset } from './subjects.js';
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

/** Options of {@link connectNatsBus}. */
export interface NatsBusOptions {
  /** Server URL, or several comma-separated (`nats://user:pass@host:4222`); credentials never appear in errors or logs. */
  url: string;
  /** Connection name shown by the server (`nats server report connections`), e.g. `trainer-<trial>`. */
  name: string;
  logger?: Logger;
  /** How long one publish may take, retries through a reconnect included, before 'Unavailable'. Default 10 s. */
  publishTimeoutMs?: number;
  /** Timeout of the first connection and of each JetStream API request. Default 5 s. */
  timeoutMs?: number;
  /** The stream's duplicate window (`Nats-Msg-Id` dedupe). Default 2 min; consumers dedupe by id beyond it. */
  duplicateWindowMs?: number;
  /** How long close() waits for the drain before closing hard. Default 5 s. */
  closeTimeoutMs?: number;
}

/** The NATS bus, with its connection for sharing (KV, health checks). */
export interface NatsBus extends Bus {
  readonly connection: NatsConnection;
  /** The server URL(s), credentials removed. */
  readonly url: string;
}

const isNamed = (err: unknown, ...names: string[]) => err instanceof Error && names.includes(err.name);
const isClosedError = (err: unknown) => isNamed(err, 'ClosedConnectionError', 'DrainingConnectionError');
/**
 * Failures a retry can cure: the server is restarting, the client reconnecting, or JetStream not
 * up yet (js.publish reports "no responders" as JetStreamNotEnabled). Anything else (permissions,
 * limits) fails at once.
 */
const isTransient = (err: unknown) =>
  isNamed(err, 'TimeoutError', 'NoResponders', 'ConnectionError', 'JetStreamNotEnabled') ||
  (err instanceof JetStreamApiError && err.status === 503);
const isApiCode = (err: unknown, code: number) => err instanceof JetStreamApiError && err.code === code;

/** One line without credentials: nats.js messages can quote the server URL. */
const reason = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\/\/[^@\s/]*@/g, '//');

function unavailable(url: string, what: string, err: unknown): MessagingError {
  if (err instanceof MessagingError) return err;
  if (isClosedError(err))
    return new MessagingError('Closed', `cannot ${what}: the connection to ${url} is closed`, url);
  return new MessagingError('Unavailable', `cannot ${what} on NATS at ${url}: ${reason(err)}`, url, { cause: err });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with `p`, or after `ms` with undefined; never leaves a timer running. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function ensureStream(jsm: JetStreamManager, duplicateWindowMs: number, logger: Logger): Promise<void> {
  const name = NATS.trialStream;
  const duplicate_window = nanos(duplicateWindowMs);
  const want = {
    name,
    subjects: [NATS.trialSubjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window,
  };
  let info;
  try {
    info = await jsm.streams.info(name);
  } catch (err) {
    if (!isApiCode(err, JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add(want);
      logger.info(`created stream ${name}`, { stream: name, subjects: want.subjects });
      return;
    } catch (addErr) {
      // Another process created it between our info and add: fall through and check it.
      info = await jsm.streams.info(name).catch(() => {
        throw addErr;
      });
    }
  }
  const subjects = info.config.subjects ?? [];
  const covered = subjects.some((s) => subjectIsSubset(NATS.trialSubjects, s));
  if (!covered || info.config.duplicate_window !== duplicate_window) {
    await jsm.streams.update(name, {
      subjects: covered ? subjects : [...subjects, NATS.trialSubjects],
      duplicate_window,
    });
    logger.info(`updated stream ${name}`, { stream: name, duplicateWindowMs });
  }
  if (info.config.storage !== StorageType.File)
    logger.warn(`stream ${name} uses ${info.config.storage} storage: events are lost when the server restarts`);
}

async function ensureConsumer(jsm: JetStreamManager, c: ResolvedConsume, logger: Logger): Promise<void> {
  const stream = NATS.trialStream;
  const tunables = { ack_wait: nanos(c.ackWaitMs), max_deliver: c.maxDeliver, max_ack_pending: c.maxInFlight };
  let info;
  try {
    info = await jsm.consumers.info(stream, c.durable);
  } catch (err) {
    if (!isApiCode(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    const config: Partial<ConsumerConfig> = {
      durable_name: c.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: c.deliverFrom === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      filter_subject: c.filter,
      ...tunables,
    };
    info = await jsm.consumers.add(stream, config);
    logger.info(`created durable consumer ${c.durable}`, { durable: c.durable, filter: c.filter });
  }
  const filter = info.config.filter_subject || NATS.trialSubjects;
  // nats-server 2.9 would silently re-filter an existing durable; a different filter under the
  // same name is almost always two consumers colliding, so refuse it.
  if (filter !== c.filter)
    throw new MessagingError(
      'ConsumerConflict',
      `durable '${c.durable}' exists with filter '${filter}', not '${c.filter}': use another durable name`,
    );
  if (
    info.config.ack_wait !== tunables.ack_wait ||
    info.config.max_deliver !== tunables.max_deliver ||
    info.config.max_ack_pending !== tunables.max_ack_pending
  )
    await jsm.consumers.update(stream, c.durable, tunables);
}

class NatsSubscription extends SubscriptionBase {
  #queue = new AsyncQueue<Delivery>();
  #stopping = false;

  constructor(
    config: ResolvedConsume,
    options: ConsumeOptions,
    logger: Logger,
    private readonly consumer: Consumer,
    private readonly messages: ConsumerMessages,
    private readonly url: string,
    private readonly ackTimeoutMs: number,
    private readonly onStop: (s: NatsSubscription) => void,
  ) {
    super(config.durable, options.handler, logger);
    void this.#pump();
    this.start();
  }

  /**
   * Moves messages from nats.js into our queue as they arrive. How many can be outstanding is
   * bounded by the server (max_ack_pending = maxInFlight), not by how fast we are iterated.
   */
  async #pump(): Promise<void> {
    let failure: MessagingError | undefined;
    try {
      for await (const m of this.messages) {
        if (!this.#stopping) this.#queue.push(this.#delivery(m));
      }
    } catch (err) {
      failure = unavailable(this.url, `consume '${this.durable}'`, err);
      this.logger.error(failure.message, { durable: this.durable });
    }
    this.#queue.end();
    this.ended(failure);
  }

  #delivery(m: JsMsg): Delivery {
    const where = `#${m.seq} of '${this.durable}'`;
    const settle = (what: string, fn: () => void) => async () => {
      try {
        fn();
      } catch (err) {
        throw unavailable(this.url, `${what} ${where}`, err);
      }
    };
    return makeDelivery(
      {
        subject: m.subject,
        raw: new Uint8Array(m.data),
        seq: m.seq,
        deliveryCount: m.info.deliveryCount,
        msgId: m.headers?.get('Nats-Msg-Id') || undefined,
      },
      {
        // Double ack: resolving means the server recorded it, so a restarted consumer never sees it again.
        ack: async () => {
          try {
            await m.ackAck({ timeout: this.ackTimeoutMs });
          } catch (err) {
            throw unavailable(this.url, `ack ${where}`, err);
          }
        },
        nak: (delayMs?: number) => settle('nak', () => m.nak(delayMs))(),
        term: settle('term', () => m.term()),
      },
    );
  }

  protected take(): Promise<Delivery | undefined> {
    return this.#queue.next().then((r) => (r.done ? undefined : r.value));
  }

  protected async shutdown(): Promise<void> {
    this.#stopping = true;
    // Fetched but never handed out: left unacked, they come back after ack_wait like any
    // unacked delivery. Nak'ing them here would be faster, but nats-server 2.9.10 mishandles a
    // nak that follows the unsubscribe of a pull request (one message is redelivered twice and
    // another not until ack_wait), and a clean contract beats a fast one.
    this.#queue.takeAll();
    this.#queue.end();
    await within(this.messages.close(), 5_000);
    this.onStop(this);
  }

  async pending(): Promise<number> {
    try {
      const info = await this.consumer.info();
      return info.num_pending + info.num_ack_pending;
    } catch (err) {
      throw unavailable(this.url, `read the lag of '${this.durable}'`, err);
    }
  }
}

/**
 * Connects to NATS and makes sure the trial stream exists (created, or updated to cover the trial
 * subjects with the configured duplicate window). nats.js reconnects on its own, forever; each
 * publish retries through a reconnect until `publishTimeoutMs`, then fails 'Unavailable'.
 * A server that cannot be reached at start, or lacks JetStream, is 'Unavailable' at once.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const url = redactUrl(options.url);
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...parseServers(options.url),
      name: options.name,
      timeout: timeoutMs,
      // Keep trying for as long as the process lives: a trainer or evaluator outlives a NATS restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    throw new MessagingError('Unavailable', `cannot connect to NATS at ${url}: ${reason(err)}`, url, { cause: err });
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') logger.warn(`disconnected from NATS ${redactUrl(s.server)}`, { url });
      else if (s.type === 'reconnect') logger.info(`reconnected to NATS ${redactUrl(s.server)}`, { url });
      else if (s.type === 'error') logger.error(`NATS error: ${reason(s.error)}`, { url });
    }
  })();

  let jsm: JetStreamManager;
  let js: JetStreamClient;
  try {
    jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    js = jetstream(nc, { timeout: timeoutMs });
    await ensureStream(jsm, options.duplicateWindowMs ?? 120_000, logger);
  } catch (err) {
    await nc.close().catch(() => undefined);
    const hint = isNamed(err, 'JetStreamNotEnabled') ? ' (is JetStream enabled? nats-server -js)' : '';
    throw new MessagingError(
      'Unavailable',
      `cannot set up the trial stream on NATS at ${url}: ${reason(err)}${hint}`,
      url,
      {
        cause: err,
      },
    );
  }

  const subscriptions = new Set<NatsSubscription>();
  let closing: Promise<void> | undefined;
  const assertOpen = (what: string) => {
    if (closing || nc.isClosed())
      throw new MessagingError('Closed', `cannot ${what}: the bus for ${url} is closed`, url);
  };

  return {
    connection: nc,
    url,

    async publish(event: TrialEvent): Promise<PublishResult> {
      assertOpen('publish');
      const valid = validateEvent(event);
      const subject = subjectOf(valid);
      const data = encodeEvent(valid);
      const deadline = Date.now() + publishTimeoutMs;
      let lastErr: unknown;
      // Retries are safe: the id dedupes an attempt that was stored but whose ack was lost.
      for (let attempt = 0; ; attempt++) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        try {
          const ack = await js.publish(subject, data, { msgID: valid.id, timeout: Math.min(left, 2_000) });
          if (ack.duplicate) logger.debug(`duplicate event ${valid.id}`, { id: valid.id, seq: ack.seq });
          return { duplicate: ack.duplicate, seq: ack.seq };
        } catch (err) {
          if (isClosedError(err)) throw unavailable(url, 'publish', err);
          if (!isTransient(err)) {
            const code = err instanceof JetStreamApiError ? 'Rejected' : 'Unavailable';
            throw new MessagingError(code, `NATS at ${url} refused event ${valid.id}: ${reason(err)}`, url, {
              cause: err,
            });
          }
          lastErr = err;
          await sleep(Math.min(100 * 2 ** attempt, 1_000, Math.max(deadline - Date.now(), 0)));
        }
      }
      throw new MessagingError(
        'Unavailable',
        `NATS at ${url} did not confirm event ${valid.id} within ${publishTimeoutMs} ms (${reason(lastErr)}); it may still be stored, publishing again is safe`,
        url,
        { cause: lastErr },
      );
    },

    async consume(consumeOptions: ConsumeOptions): Promise<Subscription> {
      assertOpen('consume');
      const config = resolveConsume(consumeOptions);
      let consumer: Consumer;
      let messages: ConsumerMessages;
      try {
        await ensureConsumer(jsm, config, logger);
        consumer = await js.consumers.get(NATS.trialStream, config.durable);
        messages = await consumer.consume({ max_messages: config.maxInFlight });
      } catch (err) {
        throw unavailable(url, `open durable consumer '${config.durable}'`, err);
      }
      const sub = new NatsSubscription(config, consumeOptions, logger, consumer, messages, url, timeoutMs, (s) =>
        subscriptions.delete(s),
      );
      subscriptions.add(sub);
      return sub;
    },

    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...subscriptions].map((s) => s.stop()));
        if (nc.isClosed()) return;
        // drain() flushes what is buffered; with the server gone it would wait for a reconnect.
        const drained = await within(
          nc.drain().then(
            () => true,
            () => false,
          ),
          closeTimeoutMs,
        );
        if (!drained) await nc.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

/** Options of {@link openNatsKv}. */
export interface NatsKvOptions {
  /** Values kept per key (1 = only the current one). Default 1. */
  history?: number;
  /** Timeout of each KV operation. Default 5 s. */
  timeoutMs?: number;
}

/**
 * A KeyValueStore on a JetStream KV bucket (created with file storage when absent), sharing the
 * connection `nc` (e.g. `bus.connection`).
 */
export async function openNatsKv(
  nc: NatsConnection,
  bucket: string,
  options: NatsKvOptions = {},
): Promise<KeyValueStore> {
  const url = redactUrl(nc.getServer());
  const timeout = options.timeoutMs ?? 5_000;
  let kv: KV;
  try {
    kv = await new Kvm(jetstream(nc, { timeout })).create(bucket, {
      history: options.history ?? 1,
      storage: StorageType.File,
      timeout,
    });
  } catch (err) {
    throw unavailable(url, `open KV bucket '${bucket}'`, err);
  }

  const cas = (key: string, err: unknown, what: string): MessagingError =>
    isApiCode(err, JetStreamApiCodes.StreamWrongLastSequence)
      ? what === 'create'
        ? new MessagingError('Exists', `key '${key}' already exists in bucket '${bucket}'`, url, { cause: err })
        : new MessagingError(
            'WrongRevision',
            `key '${key}' in bucket '${bucket}' is not at the expected revision: read it again and retry`,
            url,
            { cause: err },
          )
      : unavailable(url, `${what} '${key}' in bucket '${bucket}'`, err);

  return {
    bucket,
    async get(key: string): Promise<KvEntry | undefined> {
      assertKey(key);
      try {
        const e = await kv.get(key);
        return e && e.operation === 'PUT' ? { value: new Uint8Array(e.value), revision: e.revision } : undefined;
      } catch (err) {
        throw unavailable(url, `get '${key}' from bucket '${bucket}'`, err);
      }
    },
    async put(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      return kv.put(key, toBytes(value)).catch((err: unknown) => {
        throw cas(key, err, 'put');
      });
    },
    async create(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      return kv.create(key, toBytes(value)).catch((err: unknown) => {
        throw cas(key, err, 'create');
      });
    },
    async update(key: string, value: Uint8Array | string, revision: number): Promise<number> {
      assertKey(key);
      assertRevision(revision);
      return kv.update(key, toBytes(value), revision).catch((err: unknown) => {
        throw cas(key, err, 'update');
      });
    },
    async delete(key: string): Promise<void> {
      assertKey(key);
      await kv.delete(key).catch((err: unknown) => {
        throw unavailable(url, `delete '${key}' from bucket '${bucket}'`, err);
      });
    },
    async *keys(prefix = ''): AsyncIterable<string> {
      // The server filters by whole tokens; a partial last token is filtered here.
      const whole = prefix.slice(0, prefix.lastIndexOf('.') + 1);
      const filter = `${whole}>`;
      let iter;
      try {
        iter = await kv.keys(filter);
      } catch (err) {
        throw unavailable(url, `list keys '${prefix}' of bucket '${bucket}'`, err);
      }
      for await (const key of iter) if (key.startsWith(prefix)) yield key;
    },
    async watch(watchOptions: KvWatchOptions = {}): Promise<KvWatch> {
      const key = watchOptions.key ?? '>';
      assertSubjectFilter(key, 'key filter');
      let w;
      try {
        w = await kv.watch({
          key,
          include: watchOptions.updatesOnly ? KvWatchInclude.UpdatesOnly : KvWatchInclude.LastValue,
        });
      } catch (err) {
        throw unavailable(url, `watch '${key}' in bucket '${bucket}'`, err);
      }
      const source = w[Symbol.asyncIterator]();
      const stop = () => w.stop();
      return {
        stop,
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<KvWatchEntry, undefined>> => {
            const r = await source.next();
            if (r.done) return { value: undefined, done: true };
            const e = r.value;
            const entry: KvWatchEntry =
              e.operation === 'PUT'
                ? { key: e.key, value: new Uint8Array(e.value), revision: e.revision, operation: 'PUT' }
                : { key: e.key, revision: e.revision, operation: 'DEL' };
            return { value: entry, done: false };
          },
          return: async () => (stop(), { value: undefined, done: true }),
        }),
      };
    },
  };
}
