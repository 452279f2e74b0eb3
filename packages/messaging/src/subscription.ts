/**
 * What both bus kinds share about a subscription: the iterator protocol, callback (handler) mode,
 * stop, and the `closed` promise. Each kind supplies `take()` and `shutdown()`.
 */
import { decodeEvent } from './codec.js';
import { MessagingError, type ConsumeOptions, type Delivery, type Logger, type Subscription } from './types.js';

/** How a delivery is settled at its source. */
export interface Settle {
  ack(): Promise<void>;
  nak(delayMs?: number): Promise<void>;
  term(): Promise<void>;
}

const settled = new WeakSet<Delivery>();

/** A Delivery for one stored message; it remembers whether it was settled (for handler mode). */
export function makeDelivery(
  message: { subject: string; raw: Uint8Array; seq: number; deliveryCount: number; msgId?: string },
  settle: Settle,
): Delivery {
  const decoded = decodeEvent(message.raw, `#${message.seq} on ${message.subject}`);
  const once =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    (...args: A): Promise<void> => {
      settled.add(delivery);
      return fn(...args);
    };
  const base = {
    subject: message.subject,
    id: message.msgId || decoded.id || `seq:${message.seq}`,
    raw: message.raw,
    seq: message.seq,
    deliveryCount: message.deliveryCount,
    redelivered: message.deliveryCount > 1,
    ack: once(() => settle.ack()),
    nak: once((delayMs?: number) => settle.nak(delayMs)),
    term: once(() => settle.term()),
  };
  const delivery: Delivery = decoded.event ? { ...base, event: decoded.event } : { ...base, error: decoded.error };
  return delivery;
}

export abstract class SubscriptionBase implements Subscription {
  readonly closed: Promise<MessagingError | undefined>;
  #resolveClosed!: (err: MessagingError | undefined) => void;
  #stopping: Promise<void> | undefined;
  readonly #handler: ConsumeOptions['handler'];

  constructor(
    readonly durable: string,
    handler: ConsumeOptions['handler'],
    protected readonly logger: Logger,
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#handler = handler;
  }

  /** The next delivery; undefined once the subscription has ended. */
  protected abstract take(): Promise<Delivery | undefined>;
  /** Stops the source and releases what was fetched but not handed out. */
  protected abstract shutdown(): Promise<void>;
  abstract pending(): Promise<number>;

  /** Subclasses call this once their constructor is done (so `take` can run). */
  protected start(): void {
    if (this.#handler) void this.#runHandler(this.#handler);
  }

  /** Ends the subscription from the source's side (an error, the bus closing). */
  protected ended(err?: MessagingError): void {
    this.#resolveClosed(err);
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.shutdown().finally(() => this.ended(undefined));
    return this.#stopping;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    if (this.#handler)
      throw new MessagingError(
        'InvalidArgument',
        `subscription '${this.durable}' was opened with a handler: it cannot also be iterated`,
      );
    return {
      next: async () => {
        const value = await this.take();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      // Leaving a for-await loop (break, throw) ends the subscription.
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }

  async #runHandler(handler: NonNullable<ConsumeOptions['handler']>): Promise<void> {
    for (let d = await this.take(); d; d = await this.take()) {
      const meta = { durable: this.durable, id: d.id, seq: d.seq, deliveryCount: d.deliveryCount };
      try {
        await handler(d);
      } catch (err) {
        this.logger.warn(`handler failed on ${d.id}: ${(err as Error).message}`, meta);
        if (!settled.has(d)) await d.nak().catch(() => undefined);
        continue;
      }
      // An ack that does not reach the server is not the handler's failure: the event simply
      // comes back after ack_wait, and consumers dedupe by id.
      if (!settled.has(d))
        await d.ack().catch((err: Error) => this.logger.warn(`ack of ${d.id} failed: ${err.message}`, meta));
    }
  }
}
