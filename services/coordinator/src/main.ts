import type { Server } from 'node:http';
import type { ModelParamSchemas } from '@fersweep/contracts';
import { runService, type SignalSource } from '@fersweep/lifecycle';
import { connectNatsBus, createMemoryBus, NATS_INBOX, openNatsKv, type Bus, type NatsBus } from '@fersweep/messaging';
import { COORDINATOR_BUCKET } from '@fersweep/contracts';
import { Counter } from 'prom-client';
import { localTrainerEnv } from './launchers/nats-env.js';
import { parseRetention, startRetention } from './retention.js';
import { chooseListenHost, createLogger, createRegistry, type Logger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type CoordinatorConfig } from './config.js';
import { LocalLauncher } from './launchers/local.js';
import type { Launcher } from './launchers/types.js';
import { Scheduler } from './scheduler.js';
import { openFileKv, SweepState, validateRecord } from './state.js';
import { quarantineRecords } from './quarantine.js';
import { policyAdmission } from './tenancy/admission.js';
import { loadTenancy } from './tenancy/config.js';

export interface Coordinator {
  url: string;
  /** The address the API listens on (127.0.0.1 when no API tokens are configured and no host was asked for). */
  host: string;
  scheduler: Scheduler;
  bus: Bus;
  /** Readiness fails → stop accepting → stop scheduling (the first half of stop). */
  drain(): Promise<void>;
  /** The launcher and the bus (NATS drains) close (the second half of stop). */
  close(): Promise<void>;
  /** The shutdown sequence: readiness fails → stop accepting → stop scheduling → drain NATS → exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  port?: number;
  /** Listen address; wins over FERSWEEP_HOST (see chooseListenHost). */
  host?: string;
  logger?: Logger;
  /** The trainer command of the local launcher (the app passes its own `fersweep train`); required with it. */
  trainerCommand?: string[];
  /** Turns a sweep's dataset URL into one every trainer can open (the app resolves `file://./…` against its cwd). */
  resolveDataset?: (url: string) => string;
  /** Use this launcher instead of the configured one (tests). */
  launcher?: Launcher;
  /** Check sweeps against these params schemas instead of the model registry's (tests with a stand-in trainer). */
  models?: ModelParamSchemas;
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
  let purgeEvents: ((sweep: string) => Promise<void>) | undefined;
  if (config.NATS_URL) {
    const nats: NatsBus = await connectNatsBus({
      url: config.NATS_URL,
      name: 'fersweep-coordinator',
      logger,
      inboxPrefix: NATS_INBOX.coordinator,
      ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD ?? '' } : {}),
    });
    bus = nats;
    purgeEvents = async (sweep) => void (await nats.purgeSweep(sweep));
    const kv = await openNatsKv(nats.connection, COORDINATOR_BUCKET);
    // As the file store does at open: a record that does not parse is moved aside, never a failed start.
    await quarantineRecords(kv, validateRecord, { prefixes: ['sweeps.', 'trials.'], logger });
    state = new SweepState(kv);
  } else {
    bus = createMemoryBus();
    state = new SweepState(await openFileKv(config.stateDir, { logger }));
    logger.info('embedded mode: in-process bus, state in a local folder', { stateDir: config.stateDir });
  }
  const tenancy = loadTenancy(options.env ?? process.env, config.FERSWEEP_API_TOKENS ?? []);
  const authenticated = tenancy.access.enabled;
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
      if (!options.trainerCommand)
        throw new ConfigError(
          'the local launcher needs a trainer command: start the coordinator with `fersweep serve coordinator`, or pass trainerCommand',
        );
      launcher = new LocalLauncher({
        command: options.trainerCommand,
        maxConcurrent: config.FERSWEEP_MAX_LOCAL_TRAINERS,
        logger,
        env: localTrainerEnv(options.env ?? process.env, config),
        ...(config.NATS_URL ? {} : { bus }),
      });
    }
  }
  const registry = createRegistry({ service: 'coordinator' });
  const rejected = new Counter({
    name: 'fersweep_coordinator_events_rejected_total',
    help: "Trial events the coordinator dropped because they do not carry the trial's current launch",
    labelNames: ['reason'],
    registers: [registry],
  });
  const scheduler = new Scheduler({
    onRejectedEvent: (reason) => rejected.inc({ reason }),
    ...(purgeEvents ? { purgeEvents } : {}),
    state,
    launcher,
    store,
    logger,
    bus,
    maxTrials: config.FERSWEEP_MAX_TRIALS,
    admission: policyAdmission(launcher.kind === 'local' && !config.NATS_URL, tenancy.policyFor),
    ...(options.models ? { models: options.models } : {}),
    ...(options.resolveDataset ? { resolveDataset: options.resolveDataset } : {}),
  });
  await scheduler.start();
  const retentionMs = parseRetention(config.FERSWEEP_RETENTION);
  const retention = retentionMs !== undefined ? startRetention({ scheduler, retentionMs, logger }) : undefined;

  let ready = true;
  const app = createApp({
    scheduler,
    logger,
    registry,
    store,
    ...(config.FERSWEEP_EVALUATOR_URL ? { evaluatorUrl: config.FERSWEEP_EVALUATOR_URL } : {}),
    ...(evaluatorToken ? { evaluatorToken } : {}),
    tokens: config.FERSWEEP_API_TOKENS ?? [],
    access: tenancy.access,
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

  const drain = async () => {
    ready = false;
    await new Promise<void>((r) => server.close(() => r()));
    await retention?.stop();
    await scheduler.stop();
  };
  const close = async () => {
    await launcher.close();
    await bus.close();
  };
  return {
    url,
    host: listen.host,
    scheduler,
    bus,
    drain,
    close,
    async stop() {
      await drain();
      await close();
    },
  };
}

/** What the app hands the coordinator's process beyond the environment. */
export interface CoordinatorProcessOptions extends Pick<
  StartOptions,
  'port' | 'host' | 'trainerCommand' | 'resolveDataset'
> {
  env?: NodeJS.ProcessEnv;
  /** Signals come from here instead of the process (tests). */
  signals?: SignalSource;
}

/**
 * The coordinator's process (`fersweep serve coordinator`): config → logger → startCoordinator →
 * the shared lifecycle runner (SIGTERM/SIGINT, FERSWEEP_SHUTDOWN_TIMEOUT_MS). Resolves with the exit
 * code: 0 after a clean shutdown, 1 on a bad config, a failed start, a second signal or an
 * outlasted grace period.
 */
export async function coordinatorProcess(options: CoordinatorProcessOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  let config: CoordinatorConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(`fersweep coordinator: ${(err as Error).message}\n`);
    return 1;
  }
  const logger = createLogger({ service: 'coordinator', level: config.LOG_LEVEL });
  const { signals, ...start } = options;
  const code = await runService({
    name: 'coordinator',
    logger,
    graceMs: config.FERSWEEP_SHUTDOWN_TIMEOUT_MS,
    ...(signals ? { signals } : {}),
    start: async () => startCoordinator({ ...start, env, logger }),
  });
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return code;
}
