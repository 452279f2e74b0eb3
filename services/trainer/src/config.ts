/**
 * The trainer's configuration: the environment of `fersweep train` (a Kubernetes Job's env, or the
 * local launcher's), one schema parsed once at start. The trial itself comes from `--trial`.
 */
import { z } from 'zod';
import { SpecError } from './errors.js';

/** One variable per field, with its default and what it does. */
export const TrainerConfig = z.object({
  NATS_URL: z
    .string()
    .min(1)
    .optional()
    .describe("NATS server(s) with JetStream; wins over the spec's bus. Unset: the spec's bus (IPC to a local parent)"),
  LOG_LEVEL: z
    .enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'])
    .optional()
    .describe('Log level (default info)'),
  // Checked by @fersweep/models' initTf (a bad one fails the trial as TfBackendUnavailable, with trial.failed).
  FERSWEEP_TF_BACKEND: z
    .string()
    .optional()
    .describe('Forces a TensorFlow.js backend: gpu, node, wasm or cpu; unset: the first that loads'),
  FERSWEEP_GPUS_REQUESTED: z
    .string()
    .optional()
    .describe('GPUs the Job asked for (set by the coordinator; named when the GPU backend cannot load)'),
  FERSWEEP_SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(110_000)
    .describe(
      "Grace period of a SIGTERM: checkpoint after the current batch, then exit 75 (below the Job's terminationGracePeriodSeconds, 120 s)",
    ),
});
export type TrainerConfig = z.infer<typeof TrainerConfig>;

/**
 * Parses the environment once. A bad value is a SpecError (exit 42, not retried) naming the
 * variable, the value's problem and what the variable is for.
 */
export function loadConfig(env: NodeJS.ProcessEnv): TrainerConfig {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(TrainerConfig.shape)) picked[key] = env[key] === '' ? undefined : env[key];
  const parsed = TrainerConfig.safeParse(picked);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]);
  const field = TrainerConfig.shape[name as keyof typeof TrainerConfig.shape];
  throw new SpecError(
    `${name}=${JSON.stringify(env[name])}: ${issue.message} (${field?.description ?? 'see services/trainer'})`,
  );
}
