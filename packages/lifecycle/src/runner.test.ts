import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { runService, signalsFromAbort, type LifecycleState, type RunningService } from './runner.js';

/** A logger that keeps its lines, and a signal source the test fires. */
function harness() {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    lines.push({ level, message, ...(meta ? { meta } : {}) });
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  const signals = new EventEmitter();
  const states: LifecycleState[] = [];
  return { lines, logger, signals, states, onState: (s: LifecycleState) => states.push(s) };
}

/** Resolves once `predicate` holds (the runner is driven by promises: a few turns suffice). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setImmediate(r));
}

const never = () => new Promise<void>(() => undefined);

describe('runService', () => {
  it('goes starting → ready, and on SIGTERM fails readiness, drains, closes, stops and exits 0', async () => {
    const h = harness();
    const calls: string[] = [];
    let readyWhileDraining: boolean | undefined;
    let isReady: () => boolean = () => false;
    const exit = runService({
      name: 'svc',
      logger: h.logger,
      graceMs: 60_000,
      signals: h.signals,
      onState: h.onState,
      start: async (handle) => {
        isReady = handle.isReady;
        return {
          drain: async () => {
            readyWhileDraining = handle.isReady();
            calls.push('drain');
          },
          close: async () => void calls.push('close'),
        };
      },
    });
    await until(() => h.states.includes('ready'));
    expect(isReady()).toBe(true);
    expect(h.signals.listenerCount('SIGTERM')).toBe(1);
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await exit).toBe(0);
    expect(h.states).toEqual(['starting', 'ready', 'draining', 'closing', 'stopped']);
    expect(calls).toEqual(['drain', 'close']);
    expect(readyWhileDraining).toBe(false);
    expect(h.lines.filter((l) => l.meta?.lifecycle).map((l) => l.message)).toEqual([
      'svc lifecycle: starting',
      'svc lifecycle: ready',
      'svc lifecycle: draining',
      'svc lifecycle: closing',
      'svc lifecycle: stopped',
    ]);
    expect([h.signals.listenerCount('SIGTERM'), h.signals.listenerCount('SIGINT')]).toEqual([0, 0]);
  });

  it('exits with graceExceeded when drain outlasts the grace period, naming the state it was stuck in', async () => {
    const h = harness();
    const exit = runService({
      name: 'svc',
      logger: h.logger,
      graceMs: 20,
      signals: h.signals,
      onState: h.onState,
      exitCodes: { graceExceeded: 3 },
      start: async () => ({ drain: never, close: async () => undefined }),
    });
    await until(() => h.states.includes('ready'));
    h.signals.emit('SIGINT', 'SIGINT');
    expect(await exit).toBe(3);
    expect(h.states).toEqual(['starting', 'ready', 'draining']);
    expect(h.lines.at(-1)).toMatchObject({
      level: 'error',
      message: 'svc: shutdown outlasted its grace period of 20 ms while draining; exiting 3',
    });
    expect(h.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('exits at once with the forced code on a second signal', async () => {
    const h = harness();
    const exit = runService({
      name: 'svc',
      logger: h.logger,
      graceMs: 60_000,
      signals: h.signals,
      onState: h.onState,
      exitCodes: { forced: 75 },
      start: async () => ({ drain: never, close: async () => undefined }),
    });
    await until(() => h.states.includes('ready'));
    h.signals.emit('SIGTERM', 'SIGTERM');
    await until(() => h.states.includes('draining'));
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await exit).toBe(75);
    expect(h.lines.at(-1)).toMatchObject({
      level: 'warn',
      message: 'svc: second SIGTERM while draining: exiting now with 75',
    });
  });

  it("a job's own exit code ends the run: when it finishes by itself, and after a signal's drain", async () => {
    const h = harness();
    const byItself = await runService({
      name: 'job',
      logger: h.logger,
      graceMs: 60_000,
      signals: h.signals,
      onState: h.onState,
      start: async () => ({ finished: Promise.resolve(42), drain: never, close: async () => undefined }),
    });
    expect(byItself).toBe(42);
    expect(h.states).toEqual(['starting', 'ready', 'closing', 'stopped']);

    let finish!: (code: number) => void;
    const service: RunningService = {
      finished: new Promise<number>((r) => (finish = r)),
      drain: async () => finish(75),
      close: async () => undefined,
    };
    const controller = new AbortController();
    const signalled = runService({
      name: 'job',
      logger: h.logger,
      graceMs: 60_000,
      signals: signalsFromAbort(controller.signal),
      start: async () => service,
    });
    controller.abort();
    expect(await signalled).toBe(75);
  });

  it('a start that throws is the start-failed exit code (or what exitCodeOf says), logged with its reason', async () => {
    const h = harness();
    const fail = (exitCodeOf?: (err: unknown) => number) =>
      runService({
        name: 'svc',
        logger: h.logger,
        graceMs: 1000,
        signals: h.signals,
        start: async () => {
          throw new Error('NATS_URL unreachable');
        },
        ...(exitCodeOf ? { exitCodeOf } : {}),
      });
    expect(await fail()).toBe(1);
    expect(h.lines.at(-1)).toMatchObject({ level: 'error', message: 'svc cannot start: NATS_URL unreachable' });
    expect(await fail(() => 43)).toBe(43);
    expect(h.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('a drain that throws is the shutdown-failed exit code', async () => {
    const h = harness();
    const exit = runService({
      name: 'svc',
      logger: h.logger,
      graceMs: 60_000,
      signals: h.signals,
      onState: h.onState,
      start: async () => ({
        drain: async () => {
          throw new Error('consumer stuck');
        },
        close: async () => undefined,
      }),
    });
    await until(() => h.states.includes('ready'));
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await exit).toBe(1);
    expect(h.lines.at(-1)?.message).toBe('svc: shutdown failed while draining: consumer stuck');
  });
});
