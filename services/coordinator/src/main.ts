import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ModelParamSchemas } from '@fersweep/contracts';
import { connectNatsBus, createMemoryBus, openNatsKv, type Bus, type NatsBus } from '@fersweep/messaging';
import { chooseListenHost, createLogger, createRegistry, type Logger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { createApp } from './app.js';
import { loadConfig, type CoordinatorConfig } from './config.js';
import { LocalLauncher } from './launchers/local.js';
import type { Launcher } from './launchers/types.js';
import { Scheduler } from './scheduler.js';
import { openFileKv, SweepState } from './state.js';

export interface Coordinator {
  url: string;
  /** The address the API listens on (127.0.0.1 when no API tokens are configured and no host was asked for). */
  host: string;
  scheduler: Scheduler;
  bus: Bus;
  /** The shutdown sequence: readiness fails → stop accepting → stop scheduling → drain NATS → exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  port?: number;
  /** Listen address; wins over FERSWEEP_HOST (see chooseListenHost). */
  host?: string;
  logger?: Logger;
  /** The trainer command for the local launcher (default: this installation's `fersweep train`). */
  trainerCommand?: string[];
  /** Use this launcher instead of the configured one (tests). */
  launcher?: Launcher;
  /** Check sweeps against these params schemas instead of the model registry's (tests with a stand-in trainer). */
  models?: ModelParamSchemas;
}

function defaultTrainerCommand(): string[] {
  const bin = fileURLToPath(new URL('../../../bin/fersweep.js', import.meta.url));
  return [process.execPath, bin, 'train'];
}

/**
 * Wires the coordinator from its configuration: store, bus and state (NATS or embedded), the
 * launcher, the scheduler and the HTTP API. No logic of its own.
 */
export async function startCoordinator(options: StartOptions = {}): Promise<Coordinator> {
  const config: CoordinatorConfig = loadConfig(options.env ?? process.env);
  const logger = options.logger ?? createLogger({ service: 'coordinator', level: config.LOG_LEVEL });
  const store = openStore(config.storeUrl);
  let bus: Bus;
  let state: SweepState;
  if (config.NATS_URL) {
    const nats: NatsBus = await connectNatsBus({ url: config.NATS_URL, name: 'fersweep-coordinator', logger });
    bus = nats;
    state = new SweepState(await openNatsKv(nats.connection, 'fersweep-coordinator'));
  } else {
    bus = createMemoryBus();
    state = new SweepState(await openFileKv(config.stateDir, { logger }));
    logger.info('embedded mode: in-process bus, state in a local folder', { stateDir: config.stateDir });
  }
  const authenticated = Boolean(config.FERSWEEP_API_TOKENS?.length);
  const evaluatorToken = config.FERSWEEP_EVALUATOR_TOKEN ?? config.FERSWEEP_API_TOKENS?.[0];
  const listen = chooseListenHost({
    ...(options.host !== undefined ? { explicit: options.host } : {}),
    ...(config.FERSWEEP_HOST !== undefined ? { configured: config.FERSWEEP_HOST } : {}),
    authenticated,
  });
  if (listen.warning) logger.warn(listen.warning);
  else if (!authenticated)
    logger.warn(
      `FERSWEEP_API_TOKENS is not set: the API accepts requests WITHOUT authentication, on ${listen.host} only`,
    );

  let launcher = options.launcher;
  if (!launcher) {
    if (config.FERSWEEP_LAUNCHER === 'kubernetes') {
      const { KubernetesLauncher } = await import('./launchers/kubernetes.js');
      launcher = KubernetesLauncher.fromEnvironment({ config, logger, env: options.env ?? process.env });
    } else {
      launcher = new LocalLauncher({
        command: options.trainerCommand ?? defaultTrainerCommand(),
        maxConcurrent: config.FERSWEEP_MAX_LOCAL_TRAINERS,
        logger,
        env: { ...(options.env ?? process.env), ...(config.NATS_URL ? { NATS_URL: config.NATS_URL } : {}) },
        ...(config.NATS_URL ? {} : { bus }),
      });
    }
  }
  const scheduler = new Scheduler({
    state,
    launcher,
    store,
    logger,
    bus,
    maxTrials: config.FERSWEEP_MAX_TRIALS,
    ...(options.models ? { models: options.models } : {}),
    resolveDataset: (url) =>
      url.startsWith('file://./') || url.startsWith('file://../') ? `file://${process.cwd()}/${url.slice(7)}` : url,
  });
  await scheduler.start();

  let ready = true;
  const registry = createRegistry({ service: 'coordinator' });
  const app = createApp({
    scheduler,
    logger,
    registry,
    store,
    ...(config.FERSWEEP_EVALUATOR_URL ? { evaluatorUrl: config.FERSWEEP_EVALUATOR_URL } : {}),
    ...(evaluatorToken ? { evaluatorToken } : {}),
    tokens: config.FERSWEEP_API_TOKENS ?? [],
    reportWaitMs: config.FERSWEEP_REPORT_WAIT_SECONDS * 1000,
    ready: () => ready,
  });
  const server: Server = app.listen(options.port ?? config.FERSWEEP_PORT, listen.host);
  await new Promise<void>((resolveListen, reject) => server.once('listening', resolveListen).once('error', reject));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const reach = ['0.0.0.0', '::'].includes(listen.host) ? '127.0.0.1' : listen.host;
  const url = `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}`;
  logger.info('coordinator listening', { url, host: listen.host, launcher: launcher.kind, store: store.url });

  return {
    url,
    host: listen.host,
    scheduler,
    bus,
    async stop() {
      ready = false;
      await new Promise<void>((r) => server.close(() => r()));
      await scheduler.stop();
      await launcher.close();
      await bus.close();
    },
  };
}
