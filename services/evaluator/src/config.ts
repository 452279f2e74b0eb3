/** The evaluator's configuration: one schema, parsed once at start (STYLE.md "Config is one schema per service"). */
import { RankMetric } from '@fersweep/contracts';
import { z } from 'zod';
import { EvaluatorError } from './errors.js';

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
  FERSWEEP_TENANTS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The tenants document (JSON, the coordinator's: tenants with their token sha256s and roles), mounted from a Secret",
    ),
  FERSWEEP_TENANTS: z.string().min(1).optional().describe('The tenants document inline (embedded and dev use)'),
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
  NATS_USER: z.string().min(1).optional().describe("The evaluator's NATS user (least privilege: natsPermissions)"),
  NATS_PASSWORD: z.string().optional().describe("The evaluator's NATS password (from its Secret; never logged)"),
  FERSWEEP_VERIFY_LAUNCHES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      "With NATS: drop trial events that do not carry the trial's current launch from the coordinator's KV records (forged or stale)",
    ),
  FERSWEEP_EVICT_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(86_400)
    .default(300)
    .describe('How long a finished sweep stays in memory after its final report is stored (then served from it)'),
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
