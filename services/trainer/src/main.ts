/**
 * The trainer's process (`fersweep train --trial …`): config → spec → clients → the trial → the
 * shared lifecycle runner, which owns SIGTERM/SIGINT (checkpoint after the current batch, exit 75)
 * and the grace period. No logic beyond reading the spec.
 */
import { readFile } from 'node:fs/promises';
import { TRAINER_EXIT, TrialSpec } from '@fersweep/contracts';
import { runService, signalsFromAbort } from '@fersweep/lifecycle';
import { createLogger, type Logger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { loadConfig, type TrainerConfig } from './config.js';
import { classify, SpecError } from './errors.js';
import { startTrainer } from './service.js';

/**
 * Reads a TrialSpec from `--trial`: inline JSON, a file path, or an object-store URL
 * (`s3://…/spec.json`, `file:///…`). Errors name the field that is wrong.
 */
export async function readTrialSpec(
  arg: string,
  open: (url: string) => ReturnType<typeof openStore> = openStore,
): Promise<TrialSpec> {
  let text: string;
  if (arg.trimStart().startsWith('{')) text = arg;
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    const url = new URL(arg);
    const key = url.pathname.split('/').pop() ?? '';
    text = (await open(arg.slice(0, arg.length - key.length - 1)).get(key)).toString('utf8');
  } else {
    try {
      text = await readFile(arg, 'utf8');
    } catch (err) {
      throw new SpecError(`cannot read trial spec ${arg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        cause: err,
      });
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError(
      `trial spec ${arg.length > 80 ? 'given inline' : arg} is not valid JSON: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const parsed = TrialSpec.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SpecError(`trial spec: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export interface TrainerProcessOptions {
  trial: string;
  env?: NodeJS.ProcessEnv;
  /** Where JSON log lines go (stderr by default). */
  logStream?: NodeJS.WritableStream;
  /** Stands in for SIGTERM (tests); without it the lifecycle runner listens to the process's signals. */
  signal?: AbortSignal;
}

/**
 * The container command `fersweep train --trial …`: one trial, then the exit code the Job's
 * podFailurePolicy reads (contracts TRAINER_EXIT). Never throws.
 */
export async function trainerProcess(options: TrainerProcessOptions): Promise<number> {
  const env = options.env ?? process.env;
  let logger: Logger = createLogger({
    service: 'trainer',
    ...(options.logStream ? { stream: options.logStream } : {}),
  });
  let config: TrainerConfig;
  let spec: TrialSpec;
  try {
    config = loadConfig(env);
    if (config.LOG_LEVEL) logger.level = config.LOG_LEVEL;
    spec = await readTrialSpec(options.trial);
  } catch (err) {
    const c = classify(err);
    logger.error(c.reason, { code: c.code, exitCode: c.exitCode });
    await new Promise<void>((resolve) => logger.on('finish', resolve).end());
    return c.exitCode;
  }
  logger = logger.child({ sweep: spec.sweep, trial: spec.trial, variant: spec.variant });
  try {
    return await runService({
      name: 'trainer',
      logger,
      graceMs: config.FERSWEEP_SHUTDOWN_TIMEOUT_MS,
      ...(options.signal ? { signals: signalsFromAbort(options.signal) } : {}),
      // Every way out of a trial that did not finish is "retry me" (the checkpoint resumes it).
      exitCodes: { graceExceeded: TRAINER_EXIT.retryable, forced: TRAINER_EXIT.retryable },
      exitCodeOf: (err) => classify(err).exitCode,
      start: () => startTrainer({ spec, env, logger, openStore }),
    });
  } finally {
    await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  }
}
