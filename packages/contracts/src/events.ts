import { z } from 'zod';
import { SweepId, TrialId } from './ids.js';
import { NUM_CLASSES } from './labels.js';
import { TrialLaunch } from './launch.js';

const Unit = z.number().min(0).max(1);
const Metric = z.number().finite();

/** Fields every trial event carries. `id` is deterministic and attempt-independent (dedupe key). */
const Base = {
  id: z.string().min(1),
  sweep: SweepId,
  trial: TrialId,
  variant: z.string(),
  /** 1 for the first run of the trial; a restarted pod (retry) increments it. Not part of `id`. */
  attempt: z.number().int().min(1),
  time: z.string().datetime(),
  /**
   * The launch this event belongs to (the TrialSpec's `launch`): trainer events carry it, and
   * consumers that verify launches drop events whose launch is not the trial's current one.
   */
  launch: TrialLaunch.optional(),
};

export const TrialStarted = z.object({
  ...Base,
  type: z.literal('trial.started'),
  model: z.string(),
  params: z.record(z.string(), z.unknown()),
  epochs: z.number().int().min(1),
  backend: z.string(),
  device: z.string(),
  /** sha256 of the dataset's manifest.json: which data exactly. */
  datasetSha256: z.string(),
  trainImages: z.number().int().min(0),
  parameterCount: z.number().int().min(0),
  /** Last completed epoch restored from a checkpoint (0 = fresh start). */
  resumedFromEpoch: z.number().int().min(0),
  /** Dataset root URL (the TrialSpec's `dataset`): where the evaluator reads sample images. */
  dataset: z.string().optional(),
  /** The TrialSpec's `seed` (weights init, shuffling, augmentation). */
  seed: z.number().int().optional(),
  /** The TrialSpec's `replicate`: which seed replicate of its configuration this trial is. */
  replicate: z.number().int().min(0).optional(),
});

/** One epoch's metrics, as `trial.epoch` reports them and a report's learning curve keeps them. */
export const EpochRecord = z.object({
  epoch: z.number().int().min(1),
  loss: Metric,
  accuracy: Unit,
  valLoss: Metric,
  valAccuracy: Unit,
  learningRate: z.number().min(0),
  imagesPerSecond: z.number().min(0),
  seconds: z.number().min(0),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

/**
 * The {@link EpochRecord} of a `trial.epoch` event: its metrics, without the event's envelope. An
 * object literal (the type checks it against the schema: a missing or extra field does not compile)
 * rather than a loop over the schema's keys, which is 25× slower and runs for every epoch of every
 * trial on each report build.
 */
export function epochRecordOf(e: EpochRecord): EpochRecord {
  const { epoch, loss, accuracy, valLoss, valAccuracy, learningRate, imagesPerSecond, seconds } = e;
  return { epoch, loss, accuracy, valLoss, valAccuracy, learningRate, imagesPerSecond, seconds };
}

export const TrialEpoch = z.object({
  ...Base,
  type: z.literal('trial.epoch'),
  ...EpochRecord.shape,
});

export const PerClassMetrics = z.object({
  class: z.string(),
  precision: Unit,
  recall: Unit,
  f1: Unit,
  support: z.number().int().min(0),
});
export type PerClassMetrics = z.infer<typeof PerClassMetrics>;

const Row = z.array(z.number().int().min(0)).length(NUM_CLASSES);
export const ConfusionMatrix = z.array(Row).length(NUM_CLASSES);
export type ConfusionMatrix = z.infer<typeof ConfusionMatrix>;

export const SamplePrediction = z.object({
  /** Position in the split (its order in the dataset's shards). */
  position: z.number().int().min(0),
  /** The image's index in the dataset source (CSV row / file order). */
  index: z.number().int().min(0),
  label: z
    .number()
    .int()
    .min(0)
    .max(NUM_CLASSES - 1),
  predicted: z
    .number()
    .int()
    .min(0)
    .max(NUM_CLASSES - 1),
  probabilities: z.array(Unit).length(NUM_CLASSES),
});
export type SamplePrediction = z.infer<typeof SamplePrediction>;

export const TrialEvaluated = z
  .object({
    ...Base,
    type: z.literal('trial.evaluated'),
    split: z.enum(['train', 'val', 'test', 'test2']),
    accuracy: Unit,
    macroF1: Unit,
    weightedF1: Unit,
    loss: Metric,
    /** rows = true class, columns = predicted, in label order. */
    confusionMatrix: ConfusionMatrix,
    perClass: z.array(PerClassMetrics).length(NUM_CLASSES),
    /** True labels of the whole split in split order. */
    labels: z.array(
      z
        .number()
        .int()
        .min(0)
        .max(NUM_CLASSES - 1),
    ),
    /** Predicted labels in the same order: two trials on one split compare pair-wise (McNemar). */
    predictions: z.array(
      z
        .number()
        .int()
        .min(0)
        .max(NUM_CLASSES - 1),
    ),
    samples: z.array(SamplePrediction),
  })
  .refine((e) => e.labels.length === e.predictions.length, {
    message: 'labels and predictions differ in length',
    path: ['predictions'],
  });

export const TrialCompleted = z.object({
  ...Base,
  type: z.literal('trial.completed'),
  epochs: z.number().int().min(0),
  bestEpoch: z.number().int().min(0),
  stoppedEarly: z.boolean(),
  /** Object-store URL of the model folder (model.json, weights.bin, metadata.json). */
  modelUri: z.string(),
  seconds: z.number().min(0),
});

export const TrialFailed = z.object({
  ...Base,
  type: z.literal('trial.failed'),
  reason: z.string(),
  /** Stable code, e.g. InvalidSpec, DatasetMissing, StoreUnavailable. */
  code: z.string(),
  retryable: z.boolean(),
  exitCode: z.number().int(),
  epoch: z.number().int().min(0).optional(),
});

/**
 * The sweep's scheduler (spec.scheduler: ASHA, median rule) stopped the trial: published by the
 * coordinator, not the trainer. The trial ends as `Stopped` with the epochs it trained.
 */
export const TrialStopped = z.object({
  ...Base,
  type: z.literal('trial.stopped'),
  /** The epoch it was judged at, and the rung (ASHA's milestone, or the median rule's epoch). */
  epoch: z.number().int().min(1),
  rung: z.number().int().min(1).optional(),
  /** The value it missed: the rung's cutoff, or the median of completed trials. */
  threshold: z.number().optional(),
  reason: z.string().max(500),
});

/** Every event of a trial, discriminated by `type` (all from its trainer but `trial.stopped`). */
export const TrialEvent = z.discriminatedUnion('type', [
  TrialStarted,
  TrialEpoch,
  TrialEvaluated,
  TrialCompleted,
  TrialFailed,
  TrialStopped,
]);
export type TrialEvent = z.infer<typeof TrialEvent>;
export type TrialEventType = TrialEvent['type'];
export type TrialStarted = z.infer<typeof TrialStarted>;
export type TrialEpoch = z.infer<typeof TrialEpoch>;
export type TrialEvaluated = z.infer<typeof TrialEvaluated>;
export type TrialCompleted = z.infer<typeof TrialCompleted>;
export type TrialFailed = z.infer<typeof TrialFailed>;
export type TrialStopped = z.infer<typeof TrialStopped>;

/**
 * The dedupe id of an event: `<sweep>.<trial>.<type>[.<epoch|split>]`, the same on every attempt,
 * so a retried trial that replays epoch 3 is counted once (JetStream Nats-Msg-Id, evaluator).
 * Failures are the exception: each attempt's failure is its own fact, so its id ends in `.a<attempt>`.
 */
export function eventId(e: {
  sweep: string;
  trial: string;
  type: TrialEventType;
  epoch?: number;
  split?: string;
  attempt?: number;
}): string {
  const tail =
    e.type === 'trial.epoch'
      ? `.${e.epoch}`
      : e.type === 'trial.evaluated'
        ? `.${e.split}`
        : e.type === 'trial.failed'
          ? `.a${e.attempt ?? 1}`
          : '';
  return `${e.sweep}.${e.trial}.${e.type}${tail}`;
}

/** NATS naming: one stream for all trial events, subjects `fersweep.trials.<sweep>.<trial>.<type>`. */
export const NATS = {
  trialStream: 'FERSWEEP_TRIALS',
  trialSubjects: 'fersweep.trials.>',
  trialSubject: (sweep: string, trial: string, type: TrialEventType) =>
    `fersweep.trials.${sweep}.${trial}.${type.replace('.', '_')}`,
  sweepSubjects: (sweep: string) => `fersweep.trials.${sweep}.>`,
} as const;
