import type { TrialEvent } from '@fersweep/contracts';

/** A winston-compatible logger (only what is used here); the default logs nothing. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** What the bus reports for one published event. */
export interface PublishResult {
  /**
   * True when the bus already held an event with this `id` and dropped this one: JetStream
   * within the stream's duplicate window, the in-process bus forever. Not an error: a retried
   * trial (or a retried publish) replays events on purpose.
   */
  duplicate: boolean;
  /** Stream sequence of the stored event (of the original one for a duplicate); absent where the bus keeps none. */
  seq?: number;
}

/** How a subscription reads the trial stream. */
export interface ConsumeOptions {
  /**
   * Durable consumer name (letters, digits, `-`, `_`): the bus remembers what this name has
   * acked, so a restarted consumer continues where the last one left off. Bound to its filter:
   * reusing a name with another filter is MessagingError 'ConsumerConflict'.
   */
  durable: string;
  /** Subject filter with NATS wildcards, e.g. `NATS.sweepSubjects(sweep)`; default every trial event. */
  filter?: string;
  /**
   * Where a durable seen for the first time starts: 'all' (default) from the first stored event,
   * 'new' from the next one published. Ignored when the durable exists: it resumes.
   */
  deliverFrom?: 'all' | 'new';
  /**
   * The most deliveries outstanding (delivered, not yet acked) for this durable, over all its
   * subscribers (JetStream `max_ack_pending`); delivery pauses at the limit. Default 64.
   */
  maxInFlight?: number;
  /** How long a delivery may stay unacked before it is delivered again (`ack_wait`). Default 30 s. */
  ackWaitMs?: number;
  /** Deliveries of one event before the bus gives up on it (`max_deliver`). Default 10. */
  maxDeliver?: number;
  /**
   * Callback mode: the subscription calls this for each delivery, one at a time, instead of being
   * iterated. A delivery the handler leaves unsettled is acked when it resolves and nak'ed when
   * it throws (so it comes back, up to `maxDeliver` times).
   */
  handler?: (delivery: Delivery) => Promise<void> | void;
}

interface DeliveryBase {
  /** The subject it was published on, e.g. `fersweep.trials.<sweep>.<trial>.trial_epoch`. */
  readonly subject: string;
  /**
   * Dedupe id: the `Nats-Msg-Id` header (the event's `id`), else the payload's `id`, else
   * `seq:<seq>`. Duplicate detection on publish is bounded by the stream's duplicate window, so
   * consumers that must count an event once (the evaluator) dedupe by this id as well.
   */
  readonly id: string;
  /** The payload as stored. */
  readonly raw: Uint8Array;
  /** True from the second delivery on (after a nak, an ack_wait expiry or a stopped subscriber). */
  readonly redelivered: boolean;
  /** 1 for the first delivery. */
  readonly deliveryCount: number;
  /** Stream sequence: the order events were stored in. */
  readonly seq: number;
  /** Done with it: resolves once the bus has recorded the ack; 'Unavailable' when it could not (it will come back). */
  ack(): Promise<void>;
  /** Deliver it again, after `delayMs` (default now), counting towards `maxDeliver`. */
  nak(delayMs?: number): Promise<void>;
  /** Never deliver it again (a poison message). */
  term(): Promise<void>;
}

/** A delivery whose payload is a valid TrialEvent. */
export interface EventDelivery extends DeliveryBase {
  readonly event: TrialEvent;
  readonly error?: undefined;
}

/**
 * A delivery whose payload is not a valid TrialEvent (not JSON, or off-contract). The bus does
 * not decide for the consumer: count it, log it, and usually `ack()` or `term()` it.
 */
export interface InvalidDelivery extends DeliveryBase {
  readonly event?: undefined;
  readonly error: MessagingError;
}

/** One delivery of one stored message: narrow on `event` (or `error`). */
export type Delivery = EventDelivery | InvalidDelivery;

/**
 * An open durable subscription. Iterate it (one delivery at a time, `for await`; leaving the
 * loop stops it) unless it was opened with a `handler`.
 */
export interface Subscription extends AsyncIterable<Delivery> {
  readonly durable: string;
  /** Consumer lag for metrics: events not yet delivered plus deliveries not yet acked. */
  pending(): Promise<number>;
  /**
   * Stops delivering. Whatever was delivered and not acked (handed out, or fetched ahead by the
   * NATS client) comes back after `ackWaitMs` to whichever subscriber holds the durable then.
   */
  stop(): Promise<void>;
  /** Resolves when the subscription has ended: with the error that ended it, or undefined after stop/close. */
  readonly closed: Promise<MessagingError | undefined>;
}

/** The trial event bus: NATS JetStream on a cluster, in-process in embedded mode. */
export interface Bus {
  /**
   * Validates `event` against the TrialEvent contract (invalid: MessagingError 'InvalidEvent',
   * nothing sent) and stores it on its subject, `event.id` as the dedupe id. Resolves once the
   * bus has stored it; 'Unavailable' when it could not confirm that within its timeout (it may
   * still have been stored: publishing again is safe, the id dedupes it), 'Closed' after close().
   */
  publish(event: TrialEvent): Promise<PublishResult>;
  /** Opens (creating it the first time) a durable subscription. */
  consume(options: ConsumeOptions): Promise<Subscription>;
  /** Stops every subscription and flushes what is in flight (NATS `drain()`); idempotent. */
  close(): Promise<void>;
}

/** A value as stored, with its revision (for compare-and-set). */
export interface KvEntry {
  value: Uint8Array;
  revision: number;
}

/** One change seen by a watch. A deleted key has no value. */
export interface KvWatchEntry {
  key: string;
  value?: Uint8Array;
  revision: number;
  operation: 'PUT' | 'DEL';
}

export interface KvWatchOptions {
  /** Keys to watch, NATS subject syntax (`sweeps.*.status`, `trials.>`); default every key. */
  key?: string;
  /**
   * False (default): first the current entry of every matching key (deleted ones as 'DEL'), in
   * revision order, then every change. True: only changes made after the watch started.
   */
  updatesOnly?: boolean;
}

/** A running watch: iterate it; `stop()` (or leaving the loop) ends it. */
export interface KvWatch extends AsyncIterable<KvWatchEntry> {
  stop(): void;
}

/**
 * A key → bytes store with revisions and compare-and-set: NATS JetStream KV on a cluster,
 * in-process in embedded mode. Keys are NATS tokens joined by dots: letters, digits and
 * `-/_=`, e.g. `sweeps.s1.trials.t1` (anything else is 'InvalidArgument').
 */
export interface KeyValueStore {
  readonly bucket: string;
  /** The current value; undefined when absent or deleted. */
  get(key: string): Promise<KvEntry | undefined>;
  /** Writes unconditionally; resolves to the new revision. */
  put(key: string, value: Uint8Array | string): Promise<number>;
  /** Writes only when the key is absent (or deleted): MessagingError 'Exists' otherwise. */
  create(key: string, value: Uint8Array | string): Promise<number>;
  /** Compare-and-set: writes only when `revision` is the key's current one, 'WrongRevision' otherwise. */
  update(key: string, value: Uint8Array | string, revision: number): Promise<number>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every present key that starts with `prefix` (all for ''), in no particular order. */
  keys(prefix?: string): AsyncIterable<string>;
  /** Resolves once the watch is established: every later change is seen. */
  watch(options?: KvWatchOptions): Promise<KvWatch>;
}

/** Stable codes for messaging failures. */
export type MessagingErrorCode =
  | 'InvalidEvent' // a payload that is not a valid TrialEvent (on publish: nothing was sent)
  | 'InvalidArgument' // a bad durable name, subject filter, key or option
  | 'Unavailable' // the server (or IPC parent) did not answer within the timeout
  | 'Closed' // the bus or store was closed
  | 'Exists' // KV create on a present key
  | 'WrongRevision' // KV update whose revision is not the key's current one
  | 'ConsumerConflict' // a durable name reused with another filter
  | 'Rejected' // the server refused the message (size or stream limits)
  | 'NotFound' // a KV bucket opened read-only that does not exist
  | 'PermissionDenied' // the NATS user may not publish or subscribe there (nats-server authorization)
  | 'Unsupported'; // an operation this bus kind does not offer (consume on a publisher-only bus)

/**
 * Every messaging failure: `code` is stable, `message` is one line that names the server
 * (credentials removed) and what to do.
 */
export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  constructor(
    readonly code: MessagingErrorCode,
    message: string,
    /** The server URL(s), credentials removed. */
    readonly url?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a MessagingError, with this code when one is given. */
export function isMessagingError(err: unknown, code?: MessagingErrorCode): err is MessagingError {
  return err instanceof MessagingError && (code === undefined || err.code === code);
}
