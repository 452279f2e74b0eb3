/**
 * The evaluator service from its config and clients: the consumer, the HTTP server and its own
 * shutdown sequence. The process around it (signals, grace period) is @fersweep/lifecycle's.
 */
import type { Server } from 'node:http';
import { COORDINATOR_BUCKET } from '@fersweep/contracts';
import {
  connectNatsBus,
  createMemoryBus,
  LaunchVerifier,
  NATS_INBOX,
  openNatsKv,
  type Bus,
  type NatsBus,
} from '@fersweep/messaging';
import { chooseListenHost, createLogger, createRegistry, type Logger } from '@fersweep/observability';
import { openStore, type ObjectStore } from '@fersweep/storage';
import type { Registry } from 'prom-client';
import { createApp } from './app.js';
import type { EvaluatorConfig } from './config.js';
import { createEvaluator, type Evaluator } from './evaluator.js';
import { dropLintFailingMetrics } from './metrics.js';
import { loadAccess } from './tenancy.js';

/** The service's lifecycle: readiness is true only while `ready`. */
export type ServiceState = 'starting' | 'ready' | 'draining' | 'stopped';

/** A running evaluator service. */
export interface EvaluatorService {
  readonly evaluator: Evaluator;
  readonly server: Server;
  /** The port it listens on (the real one when configured with 0). */
  readonly port: number;
  /** The address it listens on (127.0.0.1 when no tokens are configured and FERSWEEP_HOST is unset). */
  readonly host: string;
  readonly state: ServiceState;
  /**
   * SIGTERM: readiness fails → the consumer stops → applied events are committed and acked → the bus
   * drains → the HTTP server closes → logs are flushed. Idempotent.
   */
  shutdown(): Promise<void>;
}

/** Clients a test (or embedded host) may supply instead of the ones the config names. */
export interface ServiceOverrides {
  bus?: Bus;
  store?: ObjectStore;
  registry?: Registry;
  logger?: Logger;
  /** Observes every state change (tests assert the shutdown sequence). */
  onState?: (state: ServiceState) => void;
}

/** Wires the clients, starts the consumer and the HTTP server. */
export async function startEvaluatorService(
  config: EvaluatorConfig,
  overrides: ServiceOverrides = {},
): Promise<EvaluatorService> {
  let state: ServiceState = 'starting';
  const setState = (s: ServiceState) => {
    state = s;
    overrides.onState?.(s);
  };
  setState('starting');
  const logger = overrides.logger ?? createLogger({ service: 'evaluator', level: config.LOG_LEVEL });
  let registry = overrides.registry;
  if (!registry) {
    registry = createRegistry({ service: 'evaluator' });
    dropLintFailingMetrics(registry);
  }
  const store = overrides.store ?? openStore(config.FERSWEEP_STORE);
  let bus = overrides.bus;
  let launches: LaunchVerifier | undefined;
  if (!bus) {
    if (config.NATS_URL) {
      const nats: NatsBus = await connectNatsBus({
        url: config.NATS_URL,
        name: 'evaluator',
        logger,
        inboxPrefix: NATS_INBOX.evaluator,
        ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD ?? '' } : {}),
      });
      bus = nats;
      if (config.FERSWEEP_VERIFY_LAUNCHES)
        launches = new LaunchVerifier({
          kv: await openNatsKv(nats.connection, COORDINATOR_BUCKET, { readOnly: true }),
        });
      else logger.warn('FERSWEEP_VERIFY_LAUNCHES=false: trial events are applied without checking their launch');
    } else {
      logger.warn('NATS_URL is not set: consuming the in-process bus (embedded mode); no trainer can reach it');
      bus = createMemoryBus({ logger });
    }
  }
  const evaluator = createEvaluator({
    bus,
    store,
    registry,
    logger,
    metric: config.FERSWEEP_RANK_METRIC,
    ackWaitMs: config.FERSWEEP_ACK_WAIT_MS,
    evictAfterMs: config.FERSWEEP_EVICT_AFTER_SECONDS * 1000,
    ...(launches ? { launches } : {}),
  });
  const access = loadAccess(config);
  const listen = chooseListenHost({
    ...(config.FERSWEEP_HOST !== undefined ? { configured: config.FERSWEEP_HOST } : {}),
    authenticated: access.enabled,
    exposes: 'read every report and finalize any sweep',
  });
  if (listen.warning) logger.warn(listen.warning);
  else if (!access.enabled)
    logger.warn(
      `FERSWEEP_API_TOKENS is not set: reports and finalize are served WITHOUT authentication, on ${listen.host} only`,
    );
  const app = createApp({ evaluator, registry, logger, access, ready: () => state === 'ready' && evaluator.consuming });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.FERSWEEP_PORT, listen.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.FERSWEEP_PORT;
  await evaluator.start();
  setState('ready');
  logger.info(`evaluator listening on ${listen.host}:${port}`, {
    port,
    store: store.url,
    authenticated: access.enabled,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      setState('draining');
      try {
        await evaluator.stop();
        await bus.close();
      } finally {
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        setState('stopped');
        if (!overrides.logger) await new Promise<void>((resolve) => logger.on('finish', resolve).end());
      }
    })();
    return stopping;
  };
  return {
    evaluator,
    server,
    port,
    host: listen.host,
    get state() {
      return state;
    },
    shutdown,
  };
}
