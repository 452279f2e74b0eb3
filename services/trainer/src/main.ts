import { readFile } from 'node:fs/promises';
import { TRAINER_EXIT, TrialSpec } from '@fersweep/contracts';
import { busFromEnv, type Bus } from '@fersweep/messaging';
import { createLogger, type Logger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { classify, SpecError } from './errors.js';
import { initTrainerTf, publishStartupFailure } from './startup.js';
import { runTrial } from './trainer.js';

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
  /** Installs SIGTERM/SIGINT handlers (the real process); tests pass their own signal. */
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
  let spec: TrialSpec;
  try {
    spec = await readTrialSpec(options.trial);
  } catch (err) {
    const c = classify(err);
    logger.error(c.reason, { code: c.code, exitCode: c.exitCode });
    return c.exitCode;
  }
  logger = logger.child({ sweep: spec.sweep, trial: spec.trial, variant: spec.variant });

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(TRAINER_EXIT.retryable); // a second signal: stop now
    logger.warn(`${sig}: checkpointing after the current batch, then exiting ${TRAINER_EXIT.retryable}`);
    controller.abort();
  };
  const signal = options.signal ?? controller.signal;
  if (!options.signal) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  let bus: Bus | undefined;
  try {
    bus = await busFromEnv(env, spec.bus, logger);
    const connected = bus;
    const runtime = await initTrainerTf(logger, env).catch(async (err: unknown) => {
      const c = classify(err);
      logger.error(c.reason, { code: c.code, exitCode: c.exitCode });
      await publishStartupFailure({ spec, bus: connected, store: openStore(spec.output), logger }, c);
      throw err;
    });
    logger.info('tensorflow.js ready', { backend: runtime.backend, device: runtime.device, package: runtime.package });
    const result = await runTrial({ spec, openStore, bus, logger, runtime, signal });
    logger.info('trial completed', {
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      modelUri: result.modelUri,
      test: result.test,
    });
    return TRAINER_EXIT.ok;
  } catch (err) {
    return classify(err).exitCode;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await bus?.close().catch(() => undefined);
    await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  }
}
