import { z } from 'zod';
import { AshaPolicy, MedianConfig } from '@fersweep/search';
import { NAME_PATTERN } from './keys.js';
import { gridValues } from '@fersweep/search';
import { sampleIndices, searchPointAt, searchSpaceSize, type SearchPoint } from './search.js';
import {
  allCategorical,
  gridParameters,
  MAX_REPLICATES,
  randomSearchPoint,
  replicateSeed,
  SearchMetric,
  SearchParam,
} from './search-spec.js';
import { PreciseBatchNorm, TrainingSpec } from './trial.js';

const Name = z
  .string()
  .regex(NAME_PATTERN, "must be lowercase letters, digits and '-', start and end alphanumeric, at most 63 characters");

/**
 * The most trials `expandTrials` builds for one sweep, whatever a deployment allows: a sweep is
 * refused by counting (`countTrials`) before anything is built. FERSWEEP_MAX_TRIALS is at most this.
 */
export const MAX_TRIALS_PER_SWEEP = 100_000;

/** The longest `deadlineSeconds` a sweep may ask for: 30 days. */
export const MAX_DEADLINE_SECONDS = 30 * 86_400;

export const VariantSpec = z
  .object({
    /** Shown in reports and part of trial ids: DNS-1123 label. */
    name: Name.max(40, 'variant names are at most 40 characters (they prefix trial ids)'),
    /** Model registry key (cnn, mobilenetv2). */
    model: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type VariantSpec = z.infer<typeof VariantSpec>;

export const SearchSpec = z
  .object({
    method: z.enum(['grid', 'random', 'tpe']).default('grid'),
    /**
     * Per parameter, a list of values or a declaration (`{ type: float, min, max, log: true }`,
     * int, categorical). `batchSize`, `epochs` and `seed` set the trial's own fields; any other
     * name sets that model param (e.g. learningRate, width, alpha).
     */
    parameters: z.record(z.string().min(1).max(128), SearchParam),
    /** Random search and TPE: how many configurations to try per variant (random: distinct, for lists). */
    samples: z.number().int().min(1).max(MAX_TRIALS_PER_SWEEP).optional(),
    /** Random search and TPE: the sampler's seed (default the sweep's seed). */
    seed: z.number().int().optional(),
    /** The validation metric selected on (TPE's objective; default valAccuracy, maximised; valLoss is minimised). */
    metric: SearchMetric.optional(),
    /** Which way `metric` is better (default: max for valAccuracy, min for valLoss). */
    mode: z.enum(['max', 'min']).optional(),
    /** TPE: the first configurations drawn at random before the model is used (Optuna's n_startup_trials; default 10). */
    startupTrials: z.number().int().min(0).max(1000).optional(),
    /** TPE: one joint estimator over all parameters instead of one per parameter (Optuna's multivariate). */
    multivariate: z.boolean().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.method !== 'grid' && s.samples === undefined)
      ctx.addIssue({ code: 'custom', message: `${s.method} search needs samples`, path: ['samples'] });
    if (s.method === 'grid')
      for (const [name, p] of Object.entries(s.parameters))
        try {
          if (!Array.isArray(p)) gridValues(p, name);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message, path: ['parameters', name] });
        }
    if (s.method === 'tpe' && 'epochs' in s.parameters)
      ctx.addIssue({
        code: 'custom',
        message: 'epochs cannot be a TPE parameter: every configuration of every variant gets the same epoch budget',
        path: ['parameters', 'epochs'],
      });
  });
export type SearchSpec = z.infer<typeof SearchSpec>;

/** The epoch-event metrics a scheduler can judge trials by (validation ones select; training ones are allowed). */
export const SchedulerMetric = z.enum(['valAccuracy', 'valLoss', 'accuracy', 'loss']);

/**
 * `spec.scheduler`: cross-trial early stopping (packages/search's rules, with `metric` narrowed to
 * the epoch events' metrics). ASHA's budget is the sweep's `epochs`; trials are judged only against
 * trials of their own variant.
 */
export const SchedulerSpec = z.discriminatedUnion('policy', [
  AshaPolicy.extend({ metric: SchedulerMetric }),
  MedianConfig.extend({ metric: SchedulerMetric }),
]);
export type SchedulerSpec = z.infer<typeof SchedulerSpec>;

const Quantity = z.union([
  z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, 'a Kubernetes quantity such as 4, 500m or 16Gi'),
  z.number().positive(),
]);

export const ResourcesSpec = z
  .object({
    gpu: z.number().int().min(0).max(16).default(1),
    cpu: Quantity.default('4'),
    memory: Quantity.default('16Gi'),
    nodeSelector: z.record(z.string(), z.string()).default({}),
    tolerations: z
      .array(
        z
          .object({
            key: z.string().optional(),
            operator: z.enum(['Exists', 'Equal']).optional(),
            value: z.string().optional(),
            effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
            tolerationSeconds: z.number().int().optional(),
          })
          .strict(),
      )
      .default([]),
    priorityClassName: z.string().optional(),
  })
  .strict();
export type ResourcesSpec = z.infer<typeof ResourcesSpec>;

/**
 * The training recipe of a sweep's trials ({@link TrainingSpec}): 100 epochs unless set, and
 * `preciseBatchNorm` left unset when not given (the trials then take TrialSpec's default).
 */
const SweepTraining = TrainingSpec.extend({
  epochs: TrainingSpec.shape.epochs.default(100),
  /** BatchNorm statistics for evaluation (TrialSpec's field; absent: precise, 256 images). */
  preciseBatchNorm: PreciseBatchNorm.optional(),
});

/**
 * A comparison sweep: variants (× a search) trained on one dataset with one recipe. The trial
 * list is a pure, deterministic function of this spec (`expandTrials`). Defaults make a minimal
 * spec (dataset + variants) valid.
 */
export const SweepSpec = z
  .object({
    apiVersion: z.literal('fersweep/v1'),
    kind: z.literal('Sweep'),
    metadata: z
      .object({ name: Name.max(40, 'sweep names are at most 40 characters (they prefix Job names)') })
      .strict(),
    spec: z
      .object({
        dataset: z.string().min(1),
        ...SweepTraining.shape,
        variants: z.array(VariantSpec).min(1, 'a sweep needs at least one variant'),
        search: SearchSpec.optional(),
        /**
         * Seed replicates: each configuration is trained with this many seeds (replicate 0 keeps
         * the configuration's seed, the others derive theirs: `replicateSeed`); default 1. With more
         * than one, trial ids end in `-r<r>`. Optional without a default, so that specs submitted
         * before it existed keep their canonical hash (idempotent resubmission).
         */
        replicates: z.number().int().min(1).max(MAX_REPLICATES).optional(),
        /** Cross-trial early stopping (ASHA or the median rule): weak trials end as `Stopped`. */
        scheduler: SchedulerSpec.optional(),
        parallelism: z.number().int().min(1).max(1000).default(4),
        /** Failed attempts allowed per trial; preemptions do not count. */
        retries: z.number().int().min(0).max(20).default(3),
        /** Wall-clock limit of each trial, retries included (a Job's activeDeadlineSeconds): 60 s to 30 days. */
        deadlineSeconds: z
          .number()
          .int()
          .min(60)
          .max(MAX_DEADLINE_SECONDS, `at most ${MAX_DEADLINE_SECONDS} (30 days)`)
          .default(86_400),
        resources: ResourcesSpec.default({ gpu: 1, cpu: '4', memory: '16Gi', nodeSelector: {}, tolerations: [] }),
        /** Kueue LocalQueue name: Jobs are created suspended and labelled for Kueue to admit. */
        queueName: z.string().optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        const seen = new Set<string>();
        s.variants.forEach((v, i) => {
          if (seen.has(v.name))
            ctx.addIssue({
              code: 'custom',
              message: `duplicate variant name '${v.name}'`,
              path: ['variants', i, 'name'],
            });
          seen.add(v.name);
        });
        const sch = s.scheduler;
        if (sch?.policy === 'asha' && sch.minEpochs >= s.epochs)
          ctx.addIssue({
            code: 'custom',
            message: `minEpochs (${sch.minEpochs}) must be below the sweep's epochs (${s.epochs}): ASHA's first rung sits inside the budget`,
            path: ['scheduler', 'minEpochs'],
          });
        if (sch && s.search && 'epochs' in s.search.parameters)
          ctx.addIssue({
            code: 'custom',
            message:
              'epochs cannot be a search parameter with a scheduler: the scheduler compares trials over one epoch budget',
            path: ['search', 'parameters', 'epochs'],
          });
      }),
  })
  .strict();
export type SweepSpec = z.infer<typeof SweepSpec>;
export type SweepSpecInput = z.input<typeof SweepSpec>;

/** One trial of a sweep, as expandTrials plans it (the coordinator adds URLs to make a TrialSpec). */
export interface TrialPlan {
  /**
   * DNS-1123 label, unique in the sweep: `<variant>`, `<variant>-<nn>` when a search expands it,
   * with `-r<r>` appended for each seed replicate when the sweep has `replicates` > 1.
   */
  trial: string;
  variant: string;
  model: string;
  params: Record<string, unknown>;
  epochs: number;
  batchSize: number;
  seed: number;
  /** The search point this trial tries ({} without a search, and for TPE until it is suggested). */
  searchPoint: SearchPoint;
  /** The configuration's index within its variant (0 without a search): TPE's trial number k. */
  configuration: number;
  /** Which seed replicate of its configuration (set only when the sweep has `replicates` > 1). */
  replicate?: number;
  /** TPE: the point is suggested just before launch, from the variant's history (params lack it until then). */
  suggested?: true;
}

/** Search parameters that set the trial's own fields; any other name sets a model param. */
export const SEARCH_TRIAL_FIELDS: ReadonlySet<string> = new Set(['batchSize', 'epochs', 'seed']);

/**
 * The number of trials a spec expands to, replicates included, counted without building anything
 * (so oversized sweeps are refused cheaply): exact up to 2^53, and Infinity for spaces too large
 * for a number.
 */
export function countTrials(spec: SweepSpec): number {
  const s = spec.spec.search;
  const replicates = BigInt(spec.spec.replicates ?? 1);
  const variants = BigInt(spec.spec.variants.length);
  if (!s) return Number(variants * replicates);
  const samples = BigInt(s.samples ?? 0);
  let perVariant: bigint;
  if (s.method === 'grid') perVariant = searchSpaceSize(gridParameters(s.parameters));
  else if (s.method === 'tpe' || !allCategorical(s.parameters)) perVariant = samples;
  else {
    const size = searchSpaceSize(gridParameters(s.parameters));
    perVariant = samples < size ? samples : size;
  }
  return Number(perVariant * variants * replicates);
}

/** Thrown by `expandTrials` for a spec above its `maxTrials`: callers refuse such specs by `countTrials` first. */
export class TooManyTrialsError extends RangeError {
  override readonly name = 'TooManyTrialsError';
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(`the sweep expands to ${count} trials, more than the ${limit} allowed`);
  }
}

/**
 * The trials of a sweep: every variant × every search point (grid), or `samples` distinct points
 * drawn per variant (random, seeded by search.seed ?? spec.seed). Pure and deterministic: the same
 * spec always gives the same list, in the same order, with the same ids. Nothing is built beyond
 * the trials themselves: a random search over 10^30 points costs what its samples cost, and a
 * spec above `maxTrials` (default MAX_TRIALS_PER_SWEEP) is refused before anything is built.
 *
 * Random search draws indices into the grid (`sampleIndices`): spaces of at most
 * LEGACY_SAMPLING_MAX_POINTS points give the same trials as before the sampler changed; larger
 * ones (which the earlier version had to materialise) give a different, equally uniform draw.
 */
export function expandTrials(sweep: SweepSpec, options: { maxTrials?: number } = {}): TrialPlan[] {
  const limit = options.maxTrials ?? MAX_TRIALS_PER_SWEEP;
  const count = countTrials(sweep);
  if (count > limit) throw new TooManyTrialsError(count, limit);
  const s = sweep.spec;
  const replicates = s.replicates ?? 1;
  const out: TrialPlan[] = [];
  for (const v of s.variants) {
    const points = variantPoints(sweep, v.name);
    const width = String(points.length - 1).length;
    points.forEach((point, i) => {
      const params = { ...v.params };
      const trial = { epochs: s.epochs, batchSize: s.batchSize, seed: s.seed };
      for (const [k, value] of Object.entries(point)) {
        if (SEARCH_TRIAL_FIELDS.has(k)) (trial as Record<string, unknown>)[k] = value;
        else params[k] = value;
      }
      const base = !s.search ? v.name : `${v.name}-${String(i).padStart(width, '0')}`;
      for (let r = 0; r < replicates; r++)
        out.push({
          trial: replicates > 1 ? `${base}-r${r}` : base,
          variant: v.name,
          model: v.model,
          params: { ...params },
          ...trial,
          seed: replicateSeed(trial.seed, r),
          searchPoint: point,
          configuration: i,
          ...(replicates > 1 ? { replicate: r } : {}),
          ...(s.search?.method === 'tpe' ? { suggested: true as const } : {}),
        });
    });
  }
  return out;
}

/**
 * A variant's configurations: the grid's points; random search's draws (grid indices when every
 * parameter is a list, as before; keyed points per k when a range is declared); for TPE,
 * `samples` empty placeholders whose points are suggested at launch.
 */
function variantPoints(sweep: SweepSpec, variant: string): SearchPoint[] {
  const s = sweep.spec;
  const search = s.search;
  if (!search) return [{}];
  const seed = (search.seed ?? s.seed) ^ hashString(variant);
  if (search.method === 'tpe') return Array.from({ length: search.samples ?? 0 }, () => ({}));
  if (search.method === 'random' && !allCategorical(search.parameters))
    return Array.from({ length: search.samples ?? 0 }, (_, k) => randomSearchPoint(search.parameters, seed, k));
  const parameters = gridParameters(search.parameters);
  const size = searchSpaceSize(parameters);
  const indices =
    search.method === 'random'
      ? sampleIndices(size, search.samples ?? 0, seed)
      : Array.from({ length: Number(size) }, (_, i) => BigInt(i));
  return indices.map((i) => searchPointAt(parameters, i));
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
