import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryKv, type KeyValueStore } from '@fersweep/messaging';
import { createLogger, createRegistry, type Logger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { createApp, type AppDeps } from '../app.js';
import { LocalLauncher } from '../launchers/local.js';
import { Scheduler, type SchedulerDeps } from '../scheduler.js';
import { SweepState } from '../state.js';

/** The stand-in trainer process the coordinator tests launch (fixtures/fake-trainer.mjs). */
export const FAKE_TRAINER = fileURLToPath(new URL('../fixtures/fake-trainer.mjs', import.meta.url));

export interface TestSchedulerOptions {
  /** Names the temporary folder (`fersweep-<prefix>-…`); the store is `<dir>/store`. */
  prefix: string;
  /** The trainer command; default the fake trainer. */
  command?: string[];
  maxConcurrent?: number;
  killGraceMs?: number;
  maxTrials: number;
  /** Param schemas per model; absent = the model registry's own. */
  models?: SchedulerDeps['models'];
  /** The state's key-value store (default a fresh in-memory one). */
  kv?: KeyValueStore;
  /** The submission policy check (default the scheduler's baseline). */
  admission?: SchedulerDeps['admission'];
}

/** A started scheduler over an in-memory KV and a local launcher, in its own temporary folder. */
export interface TestScheduler {
  dir: string;
  logger: Logger;
  launcher: LocalLauncher;
  scheduler: Scheduler;
  /** Stops the scheduler and the launcher and removes the folder. */
  close(): Promise<void>;
}

export async function startTestScheduler(options: TestSchedulerOptions): Promise<TestScheduler> {
  const dir = await mkdtemp(join(tmpdir(), `fersweep-${options.prefix}-`));
  const logger = createLogger({ service: 'coordinator', silent: true });
  const launcher = new LocalLauncher({
    command: options.command ?? [process.execPath, FAKE_TRAINER],
    maxConcurrent: options.maxConcurrent ?? 1,
    logger,
    ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
  });
  const scheduler = new Scheduler({
    state: new SweepState(options.kv ?? createMemoryKv()),
    launcher,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: options.maxTrials,
    ...(options.models ? { models: options.models } : {}),
    ...(options.admission ? { admission: options.admission } : {}),
  });
  await scheduler.start();
  return {
    dir,
    logger,
    launcher,
    scheduler,
    async close() {
      await scheduler.stop();
      await launcher.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A test scheduler behind the coordinator's HTTP API on a free loopback port. */
export interface TestApi extends TestScheduler {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  base: string;
}

export async function startTestApi(
  options: TestSchedulerOptions & Pick<AppDeps, 'tokens'> & Partial<Pick<AppDeps, 'bodyLimit' | 'access'>>,
): Promise<TestApi> {
  const running = await startTestScheduler(options);
  const app = createApp({
    scheduler: running.scheduler,
    logger: running.logger,
    registry: createRegistry({ service: 'coordinator', defaultMetrics: false }),
    tokens: options.tokens,
    ...(options.access ? { access: options.access } : {}),
    ready: () => true,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address();
  return {
    ...running,
    server,
    base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    async close() {
      await new Promise((r) => server.close(r));
      await running.close();
    },
  };
}
