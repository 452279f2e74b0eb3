/**
 * Embedded mode's bridge between a trainer child process and the parent's in-process bus, over
 * the IPC channel the local launcher opens (`fork`, or `spawn` with 'ipc' in stdio).
 *
 * Protocol (JSON over the channel; other messages on the channel are left alone):
 *   child → parent  { kind: 'fersweep.event', ref, event }
 *   parent → child  { kind: 'fersweep.event.ack', ref, ok: true, duplicate, seq? }
 *                 | { kind: 'fersweep.event.ack', ref, ok: false, code, message }
 * The child's publish resolves only on the parent's ack, i.e. after the event is stored, so a
 * trainer may exit right after its last publish without losing it.
 */
import type { TrialEvent } from '@fersweep/contracts';
import { silentLogger, validateEvent } from './codec.js';
import {
  isMessagingError,
  MessagingError,
  type Bus,
  type Logger,
  type MessagingErrorCode,
  type PublishResult,
  type Subscription,
} from './types.js';

/** A child → parent event message. */
export interface IpcEventMessage {
  kind: 'fersweep.event';
  ref: number;
  event: TrialEvent;
}

/** The parent's answer to one {@link IpcEventMessage}. */
export type IpcAckMessage =
  | { kind: 'fersweep.event.ack'; ref: number; ok: true; duplicate: boolean; seq?: number }
  | { kind: 'fersweep.event.ack'; ref: number; ok: false; code: MessagingErrorCode; message: string };

/** The child's side of the channel: `process` in a forked child (injectable for tests). */
export interface IpcEndpoint {
  send?(message: IpcEventMessage, callback: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** The parent's handle on a child: a `ChildProcess` started with an IPC channel. */
export interface IpcChild {
  send?(message: IpcAckMessage, callback: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  readonly pid?: number | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Options of {@link createIpcPublisher}. */
export interface IpcPublisherOptions {
  /** Default: this process. */
  endpoint?: IpcEndpoint;
  /** How long to wait for the parent's ack before 'Unavailable'. Default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
}

const isAck = (m: unknown): m is IpcAckMessage =>
  typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'fersweep.event.ack';

const isEvent = (m: unknown): m is { kind: 'fersweep.event'; ref: number; event: unknown } =>
  typeof m === 'object' &&
  m !== null &&
  (m as { kind?: unknown }).kind === 'fersweep.event' &&
  typeof (m as { ref?: unknown }).ref === 'number';

/**
 * The trainer child's Bus in embedded mode: publish validates, sends the event to the parent and
 * resolves with the parent bus's result once the parent has stored it. Publish only: consume is
 * 'Unsupported'. Without an IPC channel (not started by the local launcher), publish fails with
 * 'Unavailable' and says so.
 */
export function createIpcPublisher(options: IpcPublisherOptions = {}): Bus {
  const endpoint: IpcEndpoint = options.endpoint ?? process;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logger = options.logger ?? silentLogger;
  const waiting = new Map<
    number,
    { resolve: (r: PublishResult) => void; reject: (e: MessagingError) => void; timer: NodeJS.Timeout }
  >();
  const inflight = new Set<Promise<PublishResult>>();
  let nextRef = 1;
  let closed = false;

  const settle = (ref: number, outcome: PublishResult | MessagingError) => {
    const w = waiting.get(ref);
    if (!w) return;
    waiting.delete(ref);
    clearTimeout(w.timer);
    if (outcome instanceof MessagingError) w.reject(outcome);
    else w.resolve(outcome);
    // Listening keeps the channel (and so the process) alive: only listen while waiting, so a
    // trainer that has published everything can exit on its own.
    if (waiting.size === 0) {
      endpoint.off('message', onMessage);
      endpoint.off('disconnect', onDisconnect);
    }
  };
  const onMessage = (m: unknown) => {
    if (!isAck(m)) return;
    settle(
      m.ref,
      m.ok
        ? { duplicate: m.duplicate, ...(m.seq === undefined ? {} : { seq: m.seq }) }
        : new MessagingError(m.code, m.message),
    );
  };
  const onDisconnect = () => {
    for (const ref of [...waiting.keys()])
      settle(ref, new MessagingError('Unavailable', 'the IPC channel to the parent process closed before it acked'));
  };

  return {
    async publish(event: TrialEvent): Promise<PublishResult> {
      if (closed) throw new MessagingError('Closed', 'cannot publish: the IPC publisher is closed');
      const valid = validateEvent(event);
      const send = endpoint.send?.bind(endpoint);
      if (!send || endpoint.connected === false)
        throw new MessagingError(
          'Unavailable',
          'cannot publish over IPC: this process has no IPC channel to a parent (it was not started by the local launcher); set NATS_URL to publish to NATS',
        );
      const ref = nextRef++;
      const result = new Promise<PublishResult>((resolve, reject) => {
        if (waiting.size === 0) {
          endpoint.on('message', onMessage);
          endpoint.on('disconnect', onDisconnect);
        }
        const timer = setTimeout(
          () =>
            settle(
              ref,
              new MessagingError(
                'Unavailable',
                `the parent process did not ack event ${valid.id} within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        waiting.set(ref, { resolve, reject, timer });
        const failed = (err: Error) =>
          settle(
            ref,
            new MessagingError(
              'Unavailable',
              `cannot send event ${valid.id} to the parent: ${err.message}`,
              undefined,
              {
                cause: err,
              },
            ),
          );
        try {
          send({ kind: 'fersweep.event', ref, event: valid }, (err) => err && failed(err));
        } catch (err) {
          failed(err as Error);
        }
        logger.debug(`sent event ${valid.id} to the parent`, { id: valid.id, ref });
      });
      inflight.add(result);
      void result.catch(() => undefined).finally(() => inflight.delete(result));
      return result;
    },
    async consume(): Promise<Subscription> {
      throw new MessagingError('Unsupported', 'the IPC publisher only publishes: consume from the parent’s bus');
    },
    async close(): Promise<void> {
      closed = true;
      // Let what is in flight finish (each is bounded by its own timeout).
      await Promise.allSettled(inflight);
    },
  };
}

/** Options of {@link bridgeChildToBus}. */
export interface BridgeOptions {
  logger?: Logger;
}

/** A running bridge; `detach()` stops listening to the child (the child's later publishes time out). */
export interface IpcBridge {
  detach(): void;
  /** Resolves when every event received so far has been published and answered. */
  idle(): Promise<void>;
}

/**
 * The parent's side: publishes every event the child sends into `bus`, in the order sent, and
 * answers each with the bus's result (or its error code), which is what the child's publish
 * resolves or rejects with.
 */
export function bridgeChildToBus(child: IpcChild, bus: Bus, options: BridgeOptions = {}): IpcBridge {
  const logger = options.logger ?? silentLogger;
  // One chain per child keeps its events in order (the bus sees them as the child sent them).
  let chain: Promise<void> = Promise.resolve();
  const reply = (ack: IpcAckMessage) => {
    // The child may have died meanwhile: nothing to answer then, and no 'error' event either.
    if (child.connected === false || !child.send) return;
    child.send(ack, (err) => {
      if (err) logger.debug(`cannot ack ref ${ack.ref} to child ${child.pid}: ${err.message}`);
    });
  };
  const onMessage = (m: unknown) => {
    if (!isEvent(m)) return;
    const { ref, event } = m;
    chain = chain.then(async () => {
      try {
        // Unchecked here on purpose: bus.publish validates, and its error goes back to the child.
        const r = await bus.publish(event as TrialEvent);
        reply({
          kind: 'fersweep.event.ack',
          ref,
          ok: true,
          duplicate: r.duplicate,
          ...(r.seq === undefined ? {} : { seq: r.seq }),
        });
      } catch (err) {
        const e = isMessagingError(err) ? err : new MessagingError('Unavailable', (err as Error).message);
        logger.warn(`event from child ${child.pid} not published: ${e.message}`, { code: e.code });
        reply({ kind: 'fersweep.event.ack', ref, ok: false, code: e.code, message: e.message });
      }
    });
  };
  child.on('message', onMessage);
  return {
    detach: () => void child.off('message', onMessage),
    idle: () => chain,
  };
}
