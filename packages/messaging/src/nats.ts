/**
 * The Bus and KeyValueStore on NATS JetStream (nats.js v3), for nats-server 2.9 and later: one
 * stream for all trial events (file storage, a duplicate window keyed on `Nats-Msg-Id`), durable
 * pull consumers with explicit ack, and JetStream KV. Only 2.9-era features are used: one filter
 * subject per consumer, no subject transforms, no per-message TTL, no consumer `action` semantics
 * (2.9 ignores it and silently updates an existing durable, so the checks are done here).
 */
import { NATS, type TrialEvent } from '@fersweep/contracts';
import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  encodeEvent,
  parseServers,
  redactUrl,
  resolveConsume,
  silentLogger,
  streamMsgId,
  subjectOf,
  validateEvent,
} from './codec.js';
import { isClosedError, isNamed, isPermission, isTransient, reason, unavailable } from './nats-errors.js';
import { ensureConsumer, ensureStream } from './nats-setup.js';
import { NatsSubscription, within } from './nats-subscription.js';
import {
  MessagingError,
  type Bus,
  type ConsumeOptions,
  type Logger,
  type PublishResult,
  type Subscription,
} from './types.js';

export { openNatsKv, type NatsKvOptions } from './nats-kv.js';

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
  /**
   * Credentials, when not in the URL (`NATS_USER` / `NATS_PASSWORD`: a Secret per component, see
   * `natsAuthorization`). They win over the URL's user info.
   */
  user?: string;
  pass?: string;
  /**
   * Prefix of this connection's reply subjects (JetStream acks, API replies, pull deliveries).
   * Each component gets its own (`_INBOX_trainer`, …) so that a subscribe permission on its
   * inboxes never covers another component's replies. Default `_INBOX`.
   */
  inboxPrefix?: string;
  /**
   * 'manage' (default): create or update the trial stream at connect, consume, publish.
   * 'publish': publish only (a trainer): no JetStream API call at all, so its NATS user needs
   * nothing but publish rights on its events' subjects and its inbox; consume is 'Unsupported'.
   */
  mode?: 'manage' | 'publish';
}

/** The NATS bus, with its connection for sharing (KV, health checks). */
export interface NatsBus extends Bus {
  readonly connection: NatsConnection;
  /** Deletes a sweep's events from the trial stream (retention, purge); the number deleted. */
  purgeSweep(sweep: string): Promise<number>;
  /** The server URL(s), credentials removed. */
  readonly url: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
    const servers = parseServers(options.url);
    nc = await connect({
      ...servers,
      ...(options.user !== undefined ? { user: options.user, pass: options.pass ?? '' } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
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

  let jsm: JetStreamManager | undefined;
  const js: JetStreamClient = jetstream(nc, { timeout: timeoutMs });
  try {
    if (options.mode !== 'publish') {
      jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      await ensureStream(jsm, options.duplicateWindowMs ?? 120_000, logger);
    }
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
          const ack = await js.publish(subject, data, { msgID: streamMsgId(valid), timeout: Math.min(left, 2_000) });
          if (ack.duplicate) logger.debug(`duplicate event ${valid.id}`, { id: valid.id, seq: ack.seq });
          return { duplicate: ack.duplicate, seq: ack.seq };
        } catch (err) {
          if (isClosedError(err)) throw unavailable(url, 'publish', err);
          if (!isTransient(err)) {
            const code = isPermission(err)
              ? 'PermissionDenied'
              : err instanceof JetStreamApiError
                ? 'Rejected'
                : 'Unavailable';
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
      if (!jsm)
        throw new MessagingError(
          'Unsupported',
          `this bus for ${url} publishes only (mode 'publish'): nothing to consume`,
        );
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

    async purgeSweep(sweep: string): Promise<number> {
      assertOpen('purge');
      try {
        const manager = jsm ?? (await jetstreamManager(nc, { timeout: timeoutMs }));
        const r = await manager.streams.purge(NATS.trialStream, { filter: NATS.sweepSubjects(sweep) });
        return r.purged;
      } catch (err) {
        throw unavailable(url, `purge the events of sweep '${sweep}'`, err);
      }
    },

    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...subscriptions].map((s) => s.stop()));
        if (nc.isClosed()) return;
        // drain() flushes what is buffered; with the server gone it would wait for a reconnect.
        const drained = await within(
          nc.drain().then(
            () => true,
            (err: unknown) => {
              logger.warn(`NATS drain failed (${reason(err)}): closing the connection`, { url });
              return false;
            },
          ),
          closeTimeoutMs,
        );
        if (drained === undefined)
          logger.warn(`NATS drain did not finish within ${closeTimeoutMs} ms: closing the connection`, { url });
        if (!drained) await nc.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}
