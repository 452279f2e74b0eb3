/**
 * The durable consumer of trial events. Each delivery is validated and applied to its sweep at once;
 * deliveries are then acked in batches, only after `commit` has made their effect durable (the
 * trial files, and the report when the sweep has ended). A crash before the commit loses nothing:
 * the unacked events come back after ack_wait and are applied again; a crash between commit and
 * ack counts nothing twice: the committed events dedupe the redeliveries.
 *
 * Bounded: at most `maxInFlight` deliveries outstanding (JetStream max_ack_pending), a commit every
 * `batchSize` deliveries or `flushIntervalMs`, whichever comes first, consumption paused while a
 * full batch commits.
 */
import { NATS, type SweepId } from '@fersweep/contracts';
import { withoutLaunch, type Bus, type Delivery, type LaunchVerifier, type Subscription } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { EvaluatorMetrics } from './metrics.js';
import { eachLimited, type SweepEntry } from './sweeps.js';

/** The durable consumer's name unless one is given. */
export const DEFAULT_DURABLE = 'fersweep-evaluator';

/**
 * How the consumer subscribes, batches and retries: options of {@link EventConsumer}, and of
 * `createEvaluator`, which passes them through (`consumerSettings`).
 */
export interface ConsumerSettings {
  /** Durable consumer name. Default `fersweep-evaluator`. */
  durable?: string;
  /** Subject filter. Default every trial event (`fersweep.trials.>`). */
  filter?: string;
  /** Deliveries outstanding at most (max_ack_pending). Default 1024. */
  maxInFlight?: number;
  /**
   * Deliveries per commit. Default 512 (below maxInFlight, or delivery would stall): a commit rewrites
   * the state file of every trial its batch touched, so larger batches write far less (bench/RESULTS.md).
   */
  batchSize?: number;
  /** Longest wait before a partial batch is committed. Default 100 ms. */
  flushIntervalMs?: number;
  /** How long a delivery may stay unacked before it is redelivered. Default 30 s. */
  ackWaitMs?: number;
  /** First delay before a delivery whose commit failed comes back; doubles per delivery, at most 1 min. Default 2 s. */
  retryDelayMs?: number;
  /**
   * Deliveries of one event before JetStream gives up on it. Default 1000: with the backoff above, an
   * event survives hours of store outage instead of being dropped after ten quick failures.
   */
  maxDeliver?: number;
}

const SETTINGS = [
  'durable',
  'filter',
  'maxInFlight',
  'batchSize',
  'flushIntervalMs',
  'ackWaitMs',
  'retryDelayMs',
  'maxDeliver',
] as const satisfies readonly (keyof ConsumerSettings)[];

/** The {@link ConsumerSettings} among `options` (those that are set). */
export function consumerSettings(options: ConsumerSettings): ConsumerSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTINGS) if (options[key] !== undefined) out[key] = options[key];
  return out as ConsumerSettings;
}

/** Options of {@link EventConsumer}. */
export interface EventConsumerOptions extends ConsumerSettings {
  bus: Bus;
  metrics: EvaluatorMetrics;
  logger: Logger;
  /** The sweep an event belongs to, loaded (or created) on first use. */
  open: (sweep: SweepId) => Promise<SweepEntry>;
  /**
   * Makes the effect of the applied events of these sweeps durable; resolves to the ids of the
   * sweeps it could not commit (their deliveries are nak'ed and come back).
   */
  commit: (entries: SweepEntry[]) => Promise<Set<string>>;
  /**
   * Checks each event against the coordinator's launch records: an event for a trial it never
   * launched, of an earlier launch, or with another launch's nonce is counted, logged, acked and
   * dropped before it touches any sweep. Absent: every valid event is applied (hand-fed tests).
   */
  launches?: LaunchVerifier;
}

interface Pending {
  delivery: Delivery;
  sweep: string | undefined;
}

const LOGGED_INVALID_LIMIT = 10_000;

/** Consumes trial events into sweeps; `start()` subscribes, `stop()` commits what was applied and stops. */
export class EventConsumer {
  readonly #o: EventConsumerOptions;
  readonly #batchSize: number;
  #subscription: Subscription | undefined;
  #loop: Promise<void> | undefined;
  #pending: Pending[] = [];
  #touched = new Map<string, SweepEntry>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #loggedInvalid = new Set<string>();
  #ended = false;

  constructor(options: EventConsumerOptions) {
    this.#o = options;
    this.#batchSize = Math.max(1, Math.min(options.batchSize ?? 512, (options.maxInFlight ?? 1024) - 1));
  }

  /** Whether events are being consumed: subscribed, and the subscription has not ended on an error. */
  get running(): boolean {
    return this.#subscription !== undefined && !this.#ended;
  }

  /** Opens the durable subscription and starts consuming in the background. */
  async start(): Promise<void> {
    if (this.#subscription) return;
    const subscription = await this.#o.bus.consume({
      durable: this.#o.durable ?? DEFAULT_DURABLE,
      filter: this.#o.filter ?? NATS.trialSubjects,
      maxInFlight: this.#o.maxInFlight ?? 1024,
      maxDeliver: this.#o.maxDeliver ?? 1000,
      ...(this.#o.ackWaitMs !== undefined ? { ackWaitMs: this.#o.ackWaitMs } : {}),
    });
    this.#subscription = subscription;
    this.#ended = false;
    this.#loop = this.#run(subscription);
  }

  async #run(subscription: Subscription): Promise<void> {
    try {
      for await (const delivery of subscription) {
        try {
          await this.#handle(delivery);
        } catch (err) {
          // A bug must not stop the consumer: this one event comes back later.
          this.#o.logger.error(`cannot process ${delivery.id}: ${(err as Error).message}`, {
            id: delivery.id,
            error: err,
          });
          await delivery.nak(this.#retryDelay(delivery)).catch(() => undefined);
          continue;
        }
        if (this.#pending.length >= this.#batchSize) await this.flush();
        else this.#schedule();
      }
      const err = await subscription.closed;
      if (err)
        this.#o.logger.error(`trial event subscription ended: ${err.message}`, { durable: subscription.durable });
    } catch (err) {
      this.#o.logger.error(`trial event consumer stopped: ${(err as Error).message}`, { error: err });
    } finally {
      this.#ended = true;
    }
  }

  /** Backoff of a delivery that could not be committed: doubles per delivery, at most a minute. */
  #retryDelay(delivery: Delivery): number {
    return Math.min((this.#o.retryDelayMs ?? 2_000) * 2 ** Math.min(delivery.deliveryCount - 1, 16), 60_000);
  }

  /** Whether applied events of this sweep wait for their commit (it must not be evicted meanwhile). */
  holds(sweep: string): boolean {
    return this.#touched.has(sweep) || this.#pending.some((p) => p.sweep === sweep);
  }

  /** Consumer lag: events not yet delivered plus deliveries not yet acked; undefined when stopped. */
  async lag(): Promise<number | undefined> {
    return this.#subscription?.pending();
  }

  /** Stops consuming, then commits and acks what was applied. Idempotent. */
  async stop(): Promise<void> {
    const subscription = this.#subscription;
    if (!subscription) return;
    await subscription
      .stop()
      .catch((err: Error) =>
        this.#o.logger.warn(`stopping the subscription failed: ${err.message}`, { durable: subscription.durable }),
      );
    await this.#loop;
    this.#subscription = undefined;
    await this.flush();
  }

  #schedule(): void {
    if (this.#timer || this.#pending.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#o.flushIntervalMs ?? 100);
  }

  async #handle(delivery: Delivery): Promise<void> {
    const { metrics, logger } = this.#o;
    if (delivery.error) {
      this.#invalid(delivery, delivery.error.message);
      return;
    }
    let event = delivery.event;
    metrics.consumed.inc({ type: event.type });
    if (this.#o.launches) {
      let check;
      try {
        check = await this.#o.launches.check(event);
      } catch (err) {
        logger.warn(`cannot check the launch of event ${event.id}: ${(err as Error).message}; it comes back`, {
          sweep: event.sweep,
          trial: event.trial,
          id: event.id,
        });
        await delivery.nak(this.#retryDelay(delivery)).catch(() => undefined);
        return;
      }
      if (!check.ok) {
        metrics.rejected.inc({ reason: check.reason });
        this.#logOnce(delivery.id, () =>
          logger.warn(`rejecting trial event ${event.id} (${check.reason}): ${check.detail}`, {
            sweep: event.sweep,
            trial: event.trial,
            id: event.id,
            type: event.type,
            reason: check.reason,
            subject: delivery.subject,
          }),
        );
        this.#pending.push({ delivery, sweep: undefined });
        return;
      }
    }
    // Kept without its launch: the nonce never reaches the store the evaluator writes to.
    event = withoutLaunch(event);
    let entry: SweepEntry;
    try {
      entry = await this.#o.open(event.sweep);
    } catch (err) {
      logger.warn(`cannot load sweep ${event.sweep} for event ${event.id}: ${(err as Error).message}; it comes back`, {
        sweep: event.sweep,
        trial: event.trial,
        id: event.id,
      });
      await delivery.nak(this.#retryDelay(delivery)).catch(() => undefined);
      return;
    }
    const result = entry.aggregator.apply(event);
    if (result.invalid) {
      this.#invalid(delivery, result.invalid);
      return;
    }
    metrics.failedAttempts.inc({ sweep: event.sweep }, event.type === 'trial.failed' && !result.duplicate ? 1 : 0);
    if (result.duplicate) {
      metrics.duplicates.inc({ type: event.type });
      logger.debug(`duplicate event ${event.id}`, {
        sweep: event.sweep,
        trial: event.trial,
        id: event.id,
        redelivered: delivery.redelivered,
      });
    }
    if (result.changed) entry.dirty.add(event.trial);
    this.#touched.set(event.sweep, entry);
    this.#pending.push({ delivery, sweep: event.sweep });
  }

  /** Counted, logged once (subject and id), acked and dropped: a bad message never stops the consumer. */
  #invalid(delivery: Delivery, problem: string): void {
    this.#o.metrics.invalid.inc();
    this.#logOnce(delivery.id, () =>
      this.#o.logger.warn(`dropping invalid trial event ${delivery.id} on ${delivery.subject}: ${problem}`, {
        subject: delivery.subject,
        id: delivery.id,
        seq: delivery.seq,
      }),
    );
    this.#pending.push({ delivery, sweep: undefined });
  }

  /** Logs a dropped delivery once per id (bounded), however often it is redelivered. */
  #logOnce(id: string, log: () => void): void {
    if (this.#loggedInvalid.has(id)) return;
    if (this.#loggedInvalid.size >= LOGGED_INVALID_LIMIT) this.#loggedInvalid.clear();
    this.#loggedInvalid.add(id);
    log();
  }

  /** Commits the sweeps touched so far and settles their deliveries; serialized. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush());
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0 && this.#touched.size === 0) return;
    const batch = this.#pending;
    const touched = [...this.#touched.values()];
    this.#pending = [];
    this.#touched = new Map();
    let failed: Set<string>;
    try {
      failed = await this.#o.commit(touched);
    } catch (err) {
      this.#o.logger.error(`commit failed: ${(err as Error).message}`, { error: err });
      failed = new Set(touched.map((e) => e.aggregator.sweep));
    }
    await eachLimited(batch, 16, async ({ delivery, sweep }) => {
      try {
        if (sweep !== undefined && failed.has(sweep)) await delivery.nak(this.#retryDelay(delivery));
        else await delivery.ack();
      } catch (err) {
        // It comes back after ack_wait and is deduped.
        this.#o.logger.warn(`cannot settle ${delivery.id}: ${(err as Error).message}`, { id: delivery.id });
      }
    }).catch(() => undefined);
    if (this.#pending.length > 0) this.#schedule();
  }
}
