import { z } from 'zod';
import { AugmentationConfig } from './augmentation.js';
import { SweepId, TrialId } from './ids.js';
import { TrialLaunch } from './launch.js';

/** Metrics a callback can watch (Keras names in camelCase). */
export const MonitoredMetric = z.enum(['valAccuracy', 'valLoss', 'accuracy', 'loss']);
export type MonitoredMetric = z.infer<typeof MonitoredMetric>;

/** Stop when `monitor` has not improved by `minDelta` for `patience` epochs (Keras EarlyStopping). */
export const EarlyStopping = z
  .object({
    monitor: MonitoredMetric.default('valAccuracy'),
    patience: z.number().int().min(1).default(10),
    minDelta: z.number().min(0).default(0),
    /** Put the best epoch's weights back before the final evaluation. */
    restoreBestWeights: z.boolean().default(true),
  })
  .strict();
export type EarlyStopping = z.infer<typeof EarlyStopping>;

/** Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs (Keras ReduceLROnPlateau). */
export const ReduceLrOnPlateau = z
  .object({
    monitor: MonitoredMetric.default('valLoss'),
    factor: z.number().gt(0).lt(1).default(0.1),
    patience: z.number().int().min(1).default(5),
    minDelta: z.number().min(0).default(1e-4),
    minLearningRate: z.number().min(0).default(0),
    cooldown: z.number().int().min(0).default(0),
  })
  .strict();
export type ReduceLrOnPlateau = z.infer<typeof ReduceLrOnPlateau>;

/** Training images the default precise-BatchNorm pass runs before each evaluation (see {@link PreciseBatchNorm}). */
export const PRECISE_BATCH_NORM_IMAGES = 256;

/**
 * The BatchNorm statistics every evaluation uses (each epoch's validation, the final test, the saved model).
 * By default ("precise BatchNorm") the trainer re-estimates them before each evaluation from `images` training
 * images (un-augmented, dropout off, a fixed draw per (seed, epoch)) with the current weights, and saves them
 * in the model. `false` keeps Keras' moving averages (momentum `batchNormMomentum`), which lag the weights by
 * ~1/(1 − momentum) steps — near chance after a few hundred steps at Keras' 0.99. A variant that sets
 * `batchNormMomentum` explicitly also keeps the moving averages: the param then means exactly that.
 */
export const PreciseBatchNorm = z.union([
  z.literal(false),
  z
    .object({
      /** Training images the statistics are estimated from (all of them when the split is smaller). */
      images: z.number().int().min(1).max(1_000_000).default(PRECISE_BATCH_NORM_IMAGES),
    })
    .strict(),
]);
export type PreciseBatchNorm = z.infer<typeof PreciseBatchNorm>;

/** Where a trainer publishes its events. NATS_URL in the environment wins over `url`. */
export const BusSettings = z
  .object({
    kind: z.enum(['nats', 'ipc', 'none']).default('none'),
    url: z.string().optional(),
  })
  .strict();
export type BusSettings = z.infer<typeof BusSettings>;

/**
 * How a trial trains: the recipe a sweep sets once for all its trials (`SweepSpec.spec`, where
 * `epochs` defaults to 100 and `preciseBatchNorm` stays unset when not given) and every TrialSpec
 * carries. One declaration for both, so the two cannot drift; `trainingOf` copies it across.
 */
export const TrainingSpec = z
  .object({
    epochs: z.number().int().min(1).max(10_000),
    batchSize: z.number().int().min(1).max(4096).default(64),
    seed: z.number().int().default(42),
    augmentation: AugmentationConfig.optional(),
    earlyStopping: EarlyStopping.optional(),
    reduceLrOnPlateau: ReduceLrOnPlateau.optional(),
    /** Train on at most this many images per epoch (quick presets); all when absent. */
    maxTrainImages: z.number().int().min(1).optional(),
    /** BatchNorm statistics for evaluation: re-estimated before each one (default) or Keras' moving averages. */
    preciseBatchNorm: PreciseBatchNorm.default({ images: PRECISE_BATCH_NORM_IMAGES }),
    /** Splits evaluated after training (per-sample predictions are published for each). */
    evaluate: z.array(z.enum(['val', 'test', 'test2'])).default(['test']),
  })
  .strict();
export type TrainingSpec = z.infer<typeof TrainingSpec>;
export type TrainingSpecInput = z.input<typeof TrainingSpec>;

/** The fields of {@link TrainingSpec}, in its order. */
export const TRAINING_FIELDS = TrainingSpec.keyof().options;

/**
 * The training recipe of `source` (a sweep's `spec`, a trial): its {@link TrainingSpec} fields that
 * are set, nothing else — what the coordinator copies from a sweep into each trial.
 */
export function trainingOf(source: Partial<Record<keyof TrainingSpec, unknown>>): Partial<TrainingSpecInput> {
  const out: Record<string, unknown> = {};
  for (const field of TRAINING_FIELDS) if (source[field] !== undefined) out[field] = source[field];
  return out as Partial<TrainingSpecInput>;
}

// The trial's own fields sit around the recipe's in the order trial JSON has always had (the Job's
// trial-spec-sha256 annotation hashes that JSON).
const { epochs, batchSize, seed, ...recipe } = TrainingSpec.shape;

/**
 * Everything one trainer process needs for one trial: the unit a Kubernetes Job (or a local
 * child process) runs. Produced by the coordinator from a SweepSpec; `fersweep train --trial`.
 */
export const TrialSpec = z
  .object({
    apiVersion: z.literal('fersweep/v1').default('fersweep/v1'),
    kind: z.literal('Trial').default('Trial'),
    sweep: SweepId,
    trial: TrialId,
    /** The variant's name in the sweep (e.g. "cnn-lr3e-4"); labels its curves and metrics. */
    variant: z.string().min(1).max(63),
    /** Model registry key: "cnn" | "mobilenetv2"; `params` are validated by that model's schema. */
    model: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Dataset root URL (manifest.json lives there). */
    dataset: z.string().min(1),
    /** Artifact root URL; the trial writes under sweeps/<sweep>/trials/<trial>/ there. */
    output: z.string().min(1),
    epochs,
    batchSize,
    seed,
    /**
     * Seed replicates (sweep `replicates: k`): which of the k runs of one configuration this trial is
     * (0-based). The runs of a configuration differ only in `seed`; absent when the sweep has no replicates.
     */
    replicate: z.number().int().min(0).max(99).optional(),
    ...recipe,
    /** How many sample predictions (with probabilities) to publish per evaluated split. */
    samplePredictions: z.number().int().min(0).max(256).default(28),
    bus: BusSettings.default({ kind: 'none' }),
    /** The coordinator's launch of this run (seq + secret nonce): copied into every event it publishes. */
    launch: TrialLaunch.optional(),
  })
  .strict();
export type TrialSpec = z.infer<typeof TrialSpec>;
export type TrialSpecInput = z.input<typeof TrialSpec>;

/**
 * The trainer's exit codes, for the Job's podFailurePolicy: permanent ones fail the Job at once,
 * retryable ones (and signals such as an OOM kill) count against backoffLimit.
 */
export const TRAINER_EXIT = {
  ok: 0,
  /** Unexpected crash: retried. */
  crashed: 1,
  /** Bad spec, unknown model, bad params, a dataset the model cannot take: retrying cannot help. */
  invalidSpec: 42,
  /** Dataset missing or corrupt: retrying cannot help until someone re-imports it. */
  invalidData: 43,
  /**
   * The trial asked for a GPU (Kubernetes Job with `resources.gpu > 0`, FERSWEEP_TF_BACKEND=gpu) and
   * the GPU backend cannot load or sees no GPU (driver, CUDA or cuDNN missing or too old): retrying on
   * the same image and node pool cannot help, and training on the CPU while holding a GPU would waste it.
   */
  gpuUnavailable: 44,
  /** Store or bus unavailable, or stopped by SIGTERM after checkpointing: retry and resume. */
  retryable: 75,
} as const;
/**
 * Node/V8 options trainer processes start with: the local launcher's command and the Kubernetes Job's
 * ({@link TRAINER_IMAGE_COMMAND}). V8 takes them only at start-up (set at run time, `--single-threaded-gc`
 * aborts the process) and NODE_OPTIONS refuses them. `--single-threaded-gc` keeps garbage collection on the thread
 * that allocates. A data-parallel trainer runs one replica per core it is given, and V8's parallel scavenger
 * and concurrent marker would borrow those cores: a replica that loses time makes every other one wait at
 * the gradient reduction, and over a container's CPU quota the kernel throttles the whole process. With 2
 * threads on 2 cores it trained 2–7% more images per second; with 1 thread it changed nothing measurable
 * (bench/RESULTS.md, scaling).
 */
export const TRAINER_NODE_OPTIONS = ['--single-threaded-gc'] as const;

/** The `fersweep` command inside the image (Dockerfile.gpu links it there). */
export const IMAGE_FERSWEEP = '/usr/local/bin/fersweep';

/**
 * A trainer Job's container command (its args: `train --trial <spec>`): the image's `fersweep` under node with
 * {@link TRAINER_NODE_OPTIONS}, which the command's `#!/usr/bin/env node` line cannot pass.
 */
export const TRAINER_IMAGE_COMMAND = ['node', ...TRAINER_NODE_OPTIONS, IMAGE_FERSWEEP] as const;

export const PERMANENT_EXIT_CODES = [
  TRAINER_EXIT.invalidSpec,
  TRAINER_EXIT.invalidData,
  TRAINER_EXIT.gpuUnavailable,
] as const;
