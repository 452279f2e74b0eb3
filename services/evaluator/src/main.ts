/**
 * The evaluator's process (`fersweep serve evaluator`): config → clients → service → the shared
 * lifecycle runner, which owns SIGTERM/SIGINT and enforces FERSWEEP_SHUTDOWN_TIMEOUT_MS. No logic.
 */
import { runService, type SignalSource } from '@fersweep/lifecycle';
import { createLogger } from '@fersweep/observability';
import { loadConfig, type EvaluatorConfig } from './config.js';
import { startEvaluatorService } from './service.js';

export interface EvaluatorProcessOptions {
  /** Signals come from here instead of the process (tests). */
  signals?: SignalSource;
}

/**
 * The process: exit code 0 after a clean SIGTERM/SIGINT shutdown, 1 when the config is bad, the
 * start fails, a second signal arrives, or the shutdown outlasts FERSWEEP_SHUTDOWN_TIMEOUT_MS.
 */
export async function evaluatorProcess(
  env: NodeJS.ProcessEnv = process.env,
  options: EvaluatorProcessOptions = {},
): Promise<number> {
  let config: EvaluatorConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(`fersweep evaluator: ${(err as Error).message}\n`);
    return 1;
  }
  const logger = createLogger({ service: 'evaluator', level: config.LOG_LEVEL });
  const code = await runService({
    name: 'evaluator',
    logger,
    graceMs: config.FERSWEEP_SHUTDOWN_TIMEOUT_MS,
    ...(options.signals ? { signals: options.signals } : {}),
    start: async () => {
      const service = await startEvaluatorService(config, { logger });
      // The service's own sequence drains: readiness fails → the consumer stops → acks → the bus
      // drains → the HTTP server closes. Nothing is left to close after it.
      return { drain: () => service.shutdown(), close: async () => undefined };
    },
  });
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return code;
}
