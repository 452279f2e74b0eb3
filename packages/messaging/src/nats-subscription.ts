/** A durable JetStream pull consumer as a Subscription: deliveries queued as they arrive, double-acked. */
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { ResolvedConsume } from './codec.js';
import { unavailable } from './nats-errors.js';
import { AsyncQueue } from './queue.js';
import { makeDelivery, SubscriptionBase } from './subscription.js';
import type { ConsumeOptions, Delivery, Logger, MessagingError } from './types.js';

/** Resolves with `p`, or after `ms` with undefined; never leaves a timer running. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
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

export class NatsSubscription extends SubscriptionBase {
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
