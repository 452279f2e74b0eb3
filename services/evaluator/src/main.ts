/**
 * The evaluator service's entry point: config → clients → app → listen, plus the shutdown state
 * machine. No logic lives here.
 */
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { RankMetric } from '@fersweep/contracts';
import { connectNatsBus, createMemoryBus, type Bus } from '@fersweep/messaging';
import { chooseListenHost, createLogger, createRegistry, type Logger } from '@fersweep/observability';
import { openStore, type ObjectStore } from '@fersweep/storage';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { createApp } from './app.js';
import { EvaluatorError } from './errors.js';
import { createEvaluator, type Evaluator } from './evaluator.js';
import { dropLintFailingMetrics } from './metrics.js';

/** The evaluator's environment: one variable per field, with its default and what it does. */
export const EvaluatorConfig = z.object({
  FERSWEEP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8081)
    .describe('HTTP port of the report, /metrics and health endpoints'),
  FERSWEEP_HOST: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Address the HTTP server listens on; unset: all interfaces with FERSWEEP_API_TOKENS set, 127.0.0.1 without',
    ),
  FERSWEEP_API_TOKENS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .optional()
    .describe(
      "Accepted bearer tokens, comma-separated (the coordinator's): required on /v1 and the report pages; unset: no auth, loopback only",
    ),
  NATS_URL: z
    .string()
    .min(1)
    .optional()
    .describe('NATS server(s) with JetStream, e.g. nats://nats:4222; unset: the in-process bus (embedded mode)'),
  FERSWEEP_STORE: z
    .string()
    .min(1)
    .default('./fersweep-data')
    .describe(
      'Object-store root (s3://bucket/prefix or file:///path): evaluator state and reports go under sweeps/<id>/',
    ),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('Log level'),
  FERSWEEP_RANK_METRIC: RankMetric.default('test.accuracy').describe('Metric the stored reports rank trials by'),
  FERSWEEP_ACK_WAIT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .describe('How long a trial event may stay unacked before NATS redelivers it'),
  FERSWEEP_SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(20_000)
    .describe('Grace period of a SIGTERM shutdown (keep it below terminationGracePeriodSeconds)'),
});
export type EvaluatorConfig = z.infer<typeof EvaluatorConfig>;

/**
 * Parses the environment once. A bad value is EvaluatorError 'InvalidConfig' naming the variable,
 * the value's problem and what the variable is for.
 */
export function loadConfig(env: NodeJS.ProcessEnv): EvaluatorConfig {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(EvaluatorConfig.shape)) {
    const value = env[key];
    picked[key] = value === '' ? undefined : value;
  }
  const parsed = EvaluatorConfig.safeParse(picked);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]);
  const field = EvaluatorConfig.shape[name as keyof typeof EvaluatorConfig.shape];
  throw new EvaluatorError(
    'InvalidConfig',
    `${name}=${JSON.stringify(env[name])}: ${issue.message} (${field?.description ?? 'see services/evaluator'})`,
  );
}

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
  if (!bus) {
    if (config.NATS_URL) bus = await connectNatsBus({ url: config.NATS_URL, name: 'evaluator', logger });
    else {
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
  });
  const tokens = config.FERSWEEP_API_TOKENS ?? [];
  const listen = chooseListenHost({
    ...(config.FERSWEEP_HOST !== undefined ? { configured: config.FERSWEEP_HOST } : {}),
    authenticated: tokens.length > 0,
    exposes: 'read every report and finalize any sweep',
  });
  if (listen.warning) logger.warn(listen.warning);
  else if (tokens.length === 0)
    logger.warn(
      `FERSWEEP_API_TOKENS is not set: reports and finalize are served WITHOUT authentication, on ${listen.host} only`,
    );
  const app = createApp({ evaluator, registry, logger, tokens, ready: () => state === 'ready' && evaluator.consuming });
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
    authenticated: tokens.length > 0,
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

/**
 * The process: exit code 0 after a clean SIGTERM/SIGINT shutdown, 1 when the config is bad, the
 * start fails, or the shutdown outlasts its grace period.
 */
export async function evaluatorProcess(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: EvaluatorConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(`fersweep evaluator: ${(err as Error).message}\n`);
    return 1;
  }
  let service: EvaluatorService;
  try {
    service = await startEvaluatorService(config);
  } catch (err) {
    process.stderr.write(`fersweep evaluator: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const timer = setTimeout(() => resolve(1), config.FERSWEEP_SHUTDOWN_TIMEOUT_MS);
      service.shutdown().then(
        () => (clearTimeout(timer), resolve(0)),
        () => (clearTimeout(timer), resolve(1)),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await evaluatorProcess());
}
