import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { parseRetention } from './retention.js';
import { MAX_TRIALS_PER_SWEEP, ResourcesSpec } from '@fersweep/contracts';

function parseJson(s: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
}

/** Thrown for a bad environment variable: the message names it and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'InvalidConfig';
}

const Port = z.coerce.number().int().min(0).max(65535);
const List = z.string().transform((s) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean),
);

/**
 * The coordinator's configuration, one env variable each (names shared with the other services).
 * Parsed once at start; a bad value exits non-zero naming the variable.
 */
export const CoordinatorConfig = z.object({
  /** Listen port (default 8080; `--port` wins). */
  FERSWEEP_PORT: Port.default(8080),
  /**
   * Listen address (`--host` wins). Default: all interfaces when FERSWEEP_API_TOKENS is set,
   * 127.0.0.1 when it is not (an unauthenticated API stays on this machine unless asked).
   */
  FERSWEEP_HOST: z.string().min(1).optional(),
  /** Artifact root: s3://bucket/prefix or file:///abs/path (default ./fersweep-data). */
  FERSWEEP_STORE: z.string().min(1).optional(),
  /** NATS server; unset = embedded mode (in-process bus, file-backed state). */
  NATS_URL: z.string().min(1).optional(),
  /** Where trials run: child processes here, or one Kubernetes Job each. */
  FERSWEEP_LAUNCHER: z.enum(['local', 'kubernetes']).default('local'),
  /** Accepted API bearer tokens, comma-separated; unset = auth off (refused with the kubernetes launcher). */
  FERSWEEP_API_TOKENS: List.optional(),
  /**
   * The tenants document (JSON: tenants, their token sha256s, roles and policies, and the cluster's
   * default policy), a file mounted from a Secret (tenancy/config.ts). FERSWEEP_API_TOKENS still works
   * beside it, as the default tenant's admins.
   */
  FERSWEEP_TENANTS_FILE: z.string().min(1).optional(),
  /** The same document inline (embedded and dev use). */
  FERSWEEP_TENANTS: z.string().min(1).optional(),
  /** Namespace of the trial Jobs. */
  FERSWEEP_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .default('default'),
  /** Trainer image of the Jobs. */
  FERSWEEP_TRAINER_IMAGE: z.string().min(1).default('ghcr.io/fersweep/fersweep:0.1.0'),
  /** Largest sweep (in trials) the API accepts. */
  FERSWEEP_MAX_TRIALS: z.coerce.number().int().min(1).max(MAX_TRIALS_PER_SWEEP).default(1000),
  /** Local launcher: trainer processes at once (each trains on one core with wasm). */
  FERSWEEP_MAX_LOCAL_TRAINERS: z.coerce.number().int().min(1).default(Math.max(1, cpus().length)),
  /** The evaluator, for live reports at /v1/sweeps/{id}/report (stored reports are served without it). */
  FERSWEEP_EVALUATOR_URL: z.string().url().optional(),
  /**
   * Bearer token the coordinator sends to the evaluator (one of the evaluator's FERSWEEP_API_TOKENS).
   * Default: the first of FERSWEEP_API_TOKENS — both services read the same token list.
   */
  FERSWEEP_EVALUATOR_TOKEN: z.string().trim().min(1).optional(),
  /**
   * How long GET /v1/sweeps/{id}/report waits, for a sweep that has ended, until the evaluator has
   * recorded its last events (then 503 ReportPending with Retry-After). Below clients' 30 s timeouts.
   */
  FERSWEEP_REPORT_WAIT_SECONDS: z.coerce.number().min(0).max(25).default(20),
  /** ConfigMap with NATS_URL, FERSWEEP_STORE, AWS_REGION… that every trainer Job takes by reference (envFrom). */
  FERSWEEP_TRAINER_CONFIGMAP: z
    .string()
    .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/)
    .default('fersweep-trainer'),
  /**
   * Secret with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the trainer Jobs (envFrom). Unset: none —
   * the trainers' ServiceAccount gets S3 access from IRSA / workload identity instead.
   */
  FERSWEEP_TRAINER_SECRET: z
    .string()
    .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/)
    .optional(),
  /**
   * Secret with NATS_USER / NATS_PASSWORD for the trainer Jobs (envFrom): the trainers' NATS user,
   * which may publish trial events and nothing else (`natsPermissions`). Unset: none.
   */
  FERSWEEP_TRAINER_NATS_SECRET: z
    .string()
    .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/)
    .optional(),
  /**
   * How long a finished sweep is kept (`30d`, `12h`, `90m`, `45s`): then its records, events and
   * evaluator state are purged (artifacts stay). Unset or `0`: kept until `DELETE ?purge=true`.
   */
  FERSWEEP_RETENTION: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        parseRetention(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** The coordinator's own NATS user and password (its Secret); they win over credentials in NATS_URL. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().optional(),
  /**
   * The trainers' NATS user and password for the local launcher with NATS (multi-process mode):
   * handed to each child as NATS_USER / NATS_PASSWORD — never the coordinator's own credentials.
   */
  FERSWEEP_TRAINER_NATS_USER: z.string().min(1).optional(),
  FERSWEEP_TRAINER_NATS_PASSWORD: z.string().optional(),
  /** ServiceAccount of the trainer pods (IRSA / workload identity annotations go on it). */
  FERSWEEP_TRAINER_SERVICE_ACCOUNT: z
    .string()
    .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/)
    .optional(),
  /** imagePullSecrets of the trainer pods, comma-separated Secret names (a private registry). */
  FERSWEEP_TRAINER_IMAGE_PULL_SECRETS: List.pipe(
    z.array(z.string().regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be Secret names, comma-separated')),
  ).optional(),
  /**
   * PersistentVolumeClaim (ReadWriteMany) for the CUDA compute cache of GPU trials (CUDA_CACHE_PATH):
   * the PTX that libtensorflow 2.9 JIT-compiles on GPUs newer than its kernels is compiled once, not
   * by every trial. Unset: a per-pod emptyDir (every trial pays the compile again).
   */
  FERSWEEP_TRAINER_CUDA_CACHE_CLAIM: z
    .string()
    .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/)
    .optional(),
  /** Cluster defaults for trainer pods, used when a sweep's `resources` leave them empty (JSON object). */
  FERSWEEP_TRAINER_NODE_SELECTOR: z
    .string()
    .transform((s, ctx) => parseJson(s, ctx))
    .pipe(z.record(z.string(), z.string()))
    .optional(),
  /** Cluster default tolerations of trainer pods (JSON array of Kubernetes tolerations). */
  FERSWEEP_TRAINER_TOLERATIONS: z
    .string()
    .transform((s, ctx) => parseJson(s, ctx))
    .pipe(ResourcesSpec.shape.tolerations)
    .optional(),
  /** Cluster default PriorityClass of trainer pods. */
  FERSWEEP_TRAINER_PRIORITY_CLASS: z.string().min(1).optional(),
  /** Cluster default Kueue LocalQueue: Jobs are created suspended and labelled for it. */
  FERSWEEP_KUEUE_QUEUE: z.string().min(1).optional(),
  /** Embedded mode: where sweep state is kept between runs. */
  FERSWEEP_STATE_DIR: z.string().optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  /** Grace period of a SIGTERM shutdown in ms (keep it below terminationGracePeriodSeconds; the chart sets it 10 s below). */
  FERSWEEP_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).default(20_000),
});
export type CoordinatorConfig = z.infer<typeof CoordinatorConfig> & { storeUrl: string; stateDir: string };

/** Parses the environment; ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): CoordinatorConfig {
  const r = CoordinatorConfig.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}=${JSON.stringify(env[name] ?? '')} is invalid: ${issue.message}`);
  }
  const c = r.data;
  if (
    c.FERSWEEP_LAUNCHER === 'kubernetes' &&
    !c.FERSWEEP_API_TOKENS?.length &&
    !c.FERSWEEP_TENANTS_FILE &&
    !c.FERSWEEP_TENANTS
  ) {
    throw new ConfigError(
      'FERSWEEP_API_TOKENS is required (or a tenants document, FERSWEEP_TENANTS_FILE) with FERSWEEP_LAUNCHER=kubernetes: an unauthenticated API would let anyone start GPU Jobs',
    );
  }
  const storeUrl = c.FERSWEEP_STORE ?? pathToFileURL(resolve(cwd, 'fersweep-data')).href;
  return { ...c, storeUrl, stateDir: c.FERSWEEP_STATE_DIR ?? resolve(cwd, 'fersweep-data', '.state') };
}
