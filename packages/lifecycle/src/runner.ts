/**
 * The lifecycle of every fersweep process (`fersweep serve coordinator|evaluator`, `fersweep train`),
 * in one place: start the service, report ready, and on SIGTERM/SIGINT fail readiness → drain →
 * close within a grace period. A second signal, or a shutdown that outlasts the grace period, ends
 * the process at once with an exit code that says so. Signal handling lives here and nowhere else.
 */

/** The states in order; `onState` and the log see each once. */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'closing' | 'stopped';

/** What the runner logs through (a winston logger fits). */
export interface LifecycleLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/** Where SIGTERM/SIGINT come from: the process, or a test's emitter. */
export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
}

/** What a started service hands the runner. */
export interface RunningService {
  /**
   * A job (the trainer) settles this with its exit code when its work ends by itself; the runner
   * then closes the service. A server leaves it out and runs until a signal.
   */
  readonly finished?: Promise<number>;
  /** Stop taking work and finish (or checkpoint) what is in flight. Readiness already fails. */
  drain(): Promise<void>;
  /** Release what the service holds (servers, consumers, connections), after drain. */
  close(): Promise<void>;
}

/** What the runner tells the service it starts. */
export interface LifecycleHandle {
  /** True only in the `ready` state: the service's /readyz answers from it. */
  isReady(): boolean;
  /** The current state. */
  state(): LifecycleState;
}

/** Exit codes of the outcomes that are not a clean stop (0) or a job's own code. */
export interface LifecycleExitCodes {
  /** `start` threw (default 1; `exitCodeOf` may refine it). */
  startFailed: number;
  /** The drain and close outlasted `graceMs` (default 1). */
  graceExceeded: number;
  /** A second signal arrived while shutting down (default 1). */
  forced: number;
  /** drain or close threw (default 1). */
  shutdownFailed: number;
}

export interface RunServiceOptions {
  /** The service's name in log lines (`coordinator`, `evaluator`, `trainer`). */
  name: string;
  logger: LifecycleLogger;
  /** How long drain + close may take after the first signal (keep it below the pod's terminationGracePeriodSeconds). */
  graceMs: number;
  /** Starts the service: connects its clients, listens, and resolves once it can take work. */
  start(handle: LifecycleHandle): Promise<RunningService>;
  exitCodes?: Partial<LifecycleExitCodes>;
  /** The exit code of an error `start` threw (default exitCodes.startFailed). */
  exitCodeOf?: (err: unknown) => number;
  /** Signals come from here (default: the process). */
  signals?: SignalSource;
  /** Observes every state change. */
  onState?: (state: LifecycleState) => void;
}

const DEFAULT_EXIT_CODES: LifecycleExitCodes = { startFailed: 1, graceExceeded: 1, forced: 1, shutdownFailed: 1 };

/**
 * Runs one service from start to stop and resolves with the process's exit code: 0 after a clean
 * shutdown (a job: its own code), otherwise the matching `exitCodes` entry. Never rejects; the
 * signal listeners it adds are removed before it resolves.
 */
export async function runService(options: RunServiceOptions): Promise<number> {
  const { logger, name } = options;
  const codes = { ...DEFAULT_EXIT_CODES, ...options.exitCodes };
  const signals: SignalSource = options.signals ?? process;
  let state: LifecycleState = 'starting';
  const enter = (next: LifecycleState, meta: Record<string, unknown> = {}) => {
    state = next;
    logger.info(`${name} lifecycle: ${next}`, { lifecycle: next, ...meta });
    options.onState?.(next);
  };
  const handle: LifecycleHandle = { isReady: () => state === 'ready', state: () => state };
  let graceTimer: NodeJS.Timeout | undefined;

  // Signals are listened to from the start: a SIGTERM while starting stops the service once it is up.
  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const firstSignal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  let received = 0;
  let forced: (code: number) => void = () => undefined;
  const forcedExit = new Promise<number>((resolve) => (forced = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) signalled(signal);
    else {
      logger.warn(`${name}: second ${signal} while ${state}: exiting now with ${codes.forced}`, {
        lifecycle: state,
        signal,
      });
      forced(codes.forced);
    }
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  try {
    enter('starting');
    let service: RunningService;
    try {
      service = await options.start(handle);
    } catch (err) {
      const code = options.exitCodeOf?.(err) ?? codes.startFailed;
      logger.error(`${name} cannot start: ${(err as Error).message ?? String(err)}`, { exitCode: code });
      return code;
    }
    enter('ready');
    const outcome = await Promise.race([
      firstSignal.then((signal) => ({ signal }) as const),
      ...(service.finished ? [service.finished.then((code) => ({ code }) as const)] : []),
    ]);
    if ('code' in outcome) return await closeFinished(service, outcome.code);
    return await Promise.race([shutdown(service, outcome.signal), forcedExit]);
  } finally {
    clearTimeout(graceTimer);
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  }

  /** A job that ended by itself: close it, and its code is the exit code. */
  async function closeFinished(service: RunningService, code: number): Promise<number> {
    enter('closing', { exitCode: code });
    try {
      await service.close();
    } catch (err) {
      logger.error(`${name}: close failed: ${(err as Error).message}`);
    }
    enter('stopped', { exitCode: code });
    return code;
  }

  /** The signalled path: draining → closing → stopped, within graceMs. */
  async function shutdown(service: RunningService, signal: NodeJS.Signals): Promise<number> {
    enter('draining', { signal, graceMs: options.graceMs });
    const graceExceeded = new Promise<number>((resolve) => {
      graceTimer = setTimeout(() => {
        logger.error(
          `${name}: shutdown outlasted its grace period of ${options.graceMs} ms while ${state}; exiting ${codes.graceExceeded}`,
          { lifecycle: state, graceMs: options.graceMs, exitCode: codes.graceExceeded },
        );
        resolve(codes.graceExceeded);
      }, options.graceMs);
    });
    const sequence = (async () => {
      try {
        await service.drain();
        enter('closing');
        await service.close();
      } catch (err) {
        logger.error(`${name}: shutdown failed while ${state}: ${(err as Error).message}`, {
          exitCode: codes.shutdownFailed,
        });
        return codes.shutdownFailed;
      }
      // A job's own code (the trainer's "checkpointed, retry me") wins over a plain 0.
      const code = service.finished ? await service.finished : 0;
      enter('stopped', { exitCode: code });
      return code;
    })();
    return Promise.race([sequence, graceExceeded]);
  }
}

/** A SignalSource that delivers SIGTERM once when `signal` aborts (tests, and callers that own cancellation). */
export function signalsFromAbort(signal: AbortSignal): SignalSource {
  const listeners = new Set<(s: NodeJS.Signals) => void>();
  const fire = () => {
    for (const l of [...listeners]) l('SIGTERM');
  };
  signal.addEventListener('abort', fire, { once: true });
  return {
    on: (_event, listener) => {
      // Both SIGTERM and SIGINT subscribe the same listener: deliver the abort once per listener.
      if (listeners.has(listener)) return;
      listeners.add(listener);
      if (signal.aborted) queueMicrotask(() => listener('SIGTERM'));
    },
    off: (_event, listener) => void listeners.delete(listener),
  };
}
