import { afterEach, describe, expect, it } from '@jest/globals';
import { createMemoryBus, type Bus } from '@fersweep/messaging';
import { EvaluatorError } from './errors.js';
import { loadConfig } from './config.js';
import { evaluatorProcess } from './main.js';
import { startEvaluatorService, type ServiceState } from './service.js';
import { evaluatorKeys } from './sweeps.js';
import { handBuiltSweep } from './testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('loadConfig', () => {
  it('has a default for everything but NATS_URL, NATS_USER/PASSWORD, FERSWEEP_HOST and FERSWEEP_API_TOKENS', () => {
    expect(loadConfig({})).toEqual({
      FERSWEEP_PORT: 8081,
      FERSWEEP_STORE: './fersweep-data',
      LOG_LEVEL: 'info',
      FERSWEEP_RANK_METRIC: 'test.accuracy',
      FERSWEEP_ACK_WAIT_MS: 30_000,
      FERSWEEP_SHUTDOWN_TIMEOUT_MS: 20_000,
      FERSWEEP_VERIFY_LAUNCHES: true,
      FERSWEEP_EVICT_AFTER_SECONDS: 300,
    });
    expect(loadConfig({ NATS_URL: 'nats://nats:4222', FERSWEEP_PORT: '9000' })).toMatchObject({
      NATS_URL: 'nats://nats:4222',
      FERSWEEP_PORT: 9000,
    });
    expect(loadConfig({ FERSWEEP_API_TOKENS: ' a, ,b ' }).FERSWEEP_API_TOKENS).toEqual(['a', 'b']);
  });

  it('refuses a bad value with a message that names the variable and what it is for', () => {
    const fail = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(EvaluatorError);
        expect((err as EvaluatorError).code).toBe('InvalidConfig');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fail({ FERSWEEP_PORT: 'eighty' })).toMatch(/^FERSWEEP_PORT="eighty": .*\(HTTP port of the report/);
    expect(fail({ FERSWEEP_RANK_METRIC: 'loss' })).toMatch(/^FERSWEEP_RANK_METRIC="loss": .*test\.accuracy/);
    expect(fail({ LOG_LEVEL: 'chatty' })).toMatch(/^LOG_LEVEL="chatty"/);
  });
});

describe('shutdown', () => {
  it('on SIGTERM fails readiness, stops consuming, commits what was applied, drains the bus, closes the server', async () => {
    const { store, dir, cleanup } = await tempStore();
    cleanups.push(cleanup);
    const inner = createMemoryBus();
    let releaseClose!: () => void;
    const closeGate = new Promise<void>((r) => (releaseClose = r));
    const closed: string[] = [];
    // The bus drains only when the test says so, so the draining state can be observed.
    const bus: Bus = {
      publish: (e) => inner.publish(e),
      consume: (o) => inner.consume(o),
      close: async () => {
        closed.push('bus');
        await closeGate;
        await inner.close();
      },
    };
    const states: ServiceState[] = [];
    const service = await startEvaluatorService(
      loadConfig({ FERSWEEP_PORT: '0', FERSWEEP_HOST: '127.0.0.1', FERSWEEP_STORE: dir }),
      { bus, store, logger: memoryLogger('error').logger, onState: (s) => states.push(s) },
    );
    const url = `http://127.0.0.1:${service.port}`;
    expect(states).toEqual(['starting', 'ready']);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    for (const e of handBuiltSweep('bye')) await inner.publish(e);
    await eventually(
      async () => ((await service.evaluator.report('bye'))?.trialCounts.succeeded === 2 ? true : undefined),
      'events',
    );

    const done = service.shutdown();
    expect(service.state).toBe('draining');
    await eventually(() => (closed.length ? true : undefined), 'the bus to be closing');
    expect(service.evaluator.consuming).toBe(false);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'NotReady' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Everything applied was committed before the bus closed.
    expect(await store.head(evaluatorKeys.trial('bye', 'cnn'))).toBeDefined();
    expect(await store.head(evaluatorKeys.trial('bye', 'mobilenet'))).toBeDefined();

    releaseClose();
    await done;
    expect(states).toEqual(['starting', 'ready', 'draining', 'stopped']);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await service.shutdown(); // idempotent
  });

  it('the process exits 0 after SIGTERM, and 1 on a bad config', async () => {
    const { dir, cleanup } = await tempStore();
    cleanups.push(cleanup);
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    const exit = evaluatorProcess({
      FERSWEEP_PORT: '0',
      FERSWEEP_HOST: '127.0.0.1',
      FERSWEEP_STORE: dir,
      LOG_LEVEL: 'error',
    });
    await eventually(() => (process.listenerCount('SIGTERM') > before[0]! ? true : undefined), 'the signal handler');
    process.emit('SIGTERM');
    expect(await exit).toBe(0);
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before);

    const write = process.stderr.write;
    const lines: string[] = [];
    process.stderr.write = ((chunk: string) => (lines.push(chunk), true)) as typeof process.stderr.write;
    try {
      expect(await evaluatorProcess({ FERSWEEP_PORT: '-1' })).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(lines.join('')).toMatch(/^fersweep evaluator: FERSWEEP_PORT="-1"/);
  });
});
