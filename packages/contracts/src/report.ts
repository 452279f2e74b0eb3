import { z } from 'zod';
import { EpochRecord, PerClassMetrics, SamplePrediction } from './events.js';
import { SweepId, TrialId } from './ids.js';
import { BudgetStatement, ReportApiVersion, SeedComparison, Selection, VariantReport } from './report-variants.js';

const Unit = z.number().min(0).max(1);
const Count = z.number().int().min(0);
const Metric = z.number().finite();
const Time = z.string().datetime();

/**
 * Where a trial stands, derived from its events in any order: `Succeeded` once it has completed
 * (whatever failures of older attempts say), `Failed` on a permanent failure or when its retries are
 * spent, `Pending` before its first event or while a retryable failure waits for the next attempt,
 * `Running` otherwise.
 */
/** `Stopped`: ended by the sweep's scheduler (trial.stopped) with the epochs it trained; not a failure. */
export const TrialPhase = z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Stopped']);
export type TrialPhase = z.infer<typeof TrialPhase>;

/**
 * Where a sweep stands: `Pending` before any event, `Running` until every trial is terminal (and the
 * evaluator knows the trial list, from `sweeps/<id>/spec.json` or an explicit finalize), then
 * `Succeeded` when at least one trial succeeded (the comparison has an answer; `trialCounts.failed`
 * says what is missing) or `Failed` when none did.
 */
export const SweepPhase = z.enum(['Pending', 'Running', 'Succeeded', 'Failed']);
export type SweepPhase = z.infer<typeof SweepPhase>;

/** Splits a trial can be evaluated on (the `split` of `trial.evaluated`). */
export const EvaluatedSplit = z.enum(['train', 'val', 'test', 'test2']);
export type EvaluatedSplit = z.infer<typeof EvaluatedSplit>;

/** What a sweep's trials are ranked by: `<split>.<metric>` of their `trial.evaluated` results. */
export const RankMetric = z.enum([
  'test.accuracy',
  'test.macroF1',
  'test.weightedF1',
  'val.accuracy',
  'val.macroF1',
  'val.weightedF1',
  'test2.accuracy',
  'test2.macroF1',
  'test2.weightedF1',
]);
export type RankMetric = z.infer<typeof RankMetric>;

/** The four numbers of one epoch (best or final). */
export const EpochMetrics = EpochRecord.pick({
  epoch: true,
  loss: true,
  accuracy: true,
  valLoss: true,
  valAccuracy: true,
});
export type EpochMetrics = z.infer<typeof EpochMetrics>;

/** Over-fitting at the final epoch: train accuracy − val accuracy, val loss − train loss. */
export const TrainValGap = z.object({
  epoch: z.number().int().min(1),
  accuracy: Metric,
  loss: Metric,
});
export type TrainValGap = z.infer<typeof TrainValGap>;

/** A proportion's confidence interval (Wilson score interval). */
export const ConfidenceInterval = z.object({
  lower: Unit,
  upper: Unit,
  /** e.g. 0.95. */
  confidence: z.number().gt(0).lt(1),
});
export type ConfidenceInterval = z.infer<typeof ConfidenceInterval>;

/** One evaluated split of one trial, every number derived from its confusion matrix. */
export const SplitReport = z.object({
  split: EvaluatedSplit,
  /** Images in the split (the matrix's sum). */
  images: Count,
  /** Images predicted correctly (the matrix's trace). */
  correct: Count,
  accuracy: Unit,
  accuracyInterval: ConfidenceInterval,
  macroF1: Unit,
  weightedF1: Unit,
  loss: Metric,
  /** Rows = true class, columns = predicted, in label order. */
  confusionMatrix: z.array(z.array(Count)),
  /** Each row divided by its sum (the diagonal is per-class recall); an empty row stays zeros. */
  normalizedConfusionMatrix: z.array(z.array(Unit)),
  perClass: z.array(PerClassMetrics),
  /** The sample predictions the trainer published, with their class probabilities. */
  samples: z.array(SamplePrediction),
});
export type SplitReport = z.infer<typeof SplitReport>;

/** One failed attempt of a trial. */
export const TrialFailureReport = z.object({
  attempt: z.number().int().min(1),
  code: z.string(),
  reason: z.string(),
  retryable: z.boolean(),
  exitCode: z.number().int(),
  epoch: z.number().int().min(0).nullable(),
  time: Time,
});
export type TrialFailureReport = z.infer<typeof TrialFailureReport>;

/** Everything known about one trial: its run, learning curve and evaluations. */
export const TrialReport = z.object({
  trial: TrialId,
  variant: z.string(),
  /** Model registry key; null until `trial.started` (or the sweep spec) says. */
  model: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  phase: TrialPhase,
  /** Highest attempt seen in its events (0 before any). */
  attempt: z.number().int().min(0),
  /** Epochs asked for; null until known. */
  epochs: z.number().int().min(1).nullable(),
  backend: z.string().nullable(),
  device: z.string().nullable(),
  datasetSha256: z.string().nullable(),
  parameterCount: Count.nullable(),
  trainImages: Count.nullable(),
  history: z.array(EpochRecord),
  /** The epoch the final model comes from (`trial.completed`'s bestEpoch, else the highest val accuracy). */
  bestEpoch: EpochMetrics.nullable(),
  /** The last epoch trained. */
  final: EpochMetrics.nullable(),
  gap: TrainValGap.nullable(),
  splits: z.object({
    train: SplitReport.optional(),
    val: SplitReport.optional(),
    test: SplitReport.optional(),
    test2: SplitReport.optional(),
  }),
  /** `splits.test`, or null before the test evaluation. */
  test: SplitReport.nullable(),
  stoppedEarly: z.boolean().nullable(),
  /** Wall-clock seconds of the run, from `trial.completed`. */
  seconds: z.number().min(0).nullable(),
  /** Object-store URL of the model folder, from `trial.completed`. */
  modelUri: z.string().nullable(),
  failures: z.array(TrialFailureReport),
  /** Why the sweep's scheduler stopped it (trial.stopped), or null. */
  stopped: z
    .object({
      epoch: z.number().int().min(1),
      rung: z.number().int().min(1).nullable(),
      threshold: z.number().nullable(),
      reason: z.string(),
    })
    .nullable()
    .default(null),
  /** The seed it trained with (`trial.started`); null before that, and in fersweep/v1 reports. */
  seed: z.number().int().nullable().default(null),
  /** Which seed replicate of its configuration it is (0-based); null without replicates. */
  replicate: Count.nullable().default(null),
  /** Time of its first and latest events. */
  startedAt: Time.nullable(),
  updatedAt: Time.nullable(),
});
export type TrialReport = z.infer<typeof TrialReport>;

/**
 * Epochs a succeeded trial's history lacks: every epoch from 1 to its last one, and up to the
 * epochs asked for unless it stopped early. A succeeded trial with a gap still has events on their
 * way — an evaluator that died before committing an event gets it again after JetStream's ack wait —
 * so a report showing one is not final yet. Empty for a trial that has not succeeded.
 */
export function missingEpochs(t: Pick<TrialReport, 'phase' | 'history' | 'epochs' | 'stoppedEarly'>): number[] {
  if (t.phase !== 'Succeeded') return [];
  const seen = new Set(t.history.map((h) => h.epoch));
  const last = Math.max(0, ...seen);
  const upTo = t.stoppedEarly === false && t.epochs !== null ? Math.max(last, t.epochs) : last;
  const missing: number[] = [];
  for (let e = 1; e <= upTo; e++) if (!seen.has(e)) missing.push(e);
  return missing;
}

/** Per-class difference a − b of two trials on the comparison split. */
export const ClassDelta = z.object({
  class: z.string(),
  precision: Metric,
  recall: Metric,
  f1: Metric,
});
export type ClassDelta = z.infer<typeof ClassDelta>;

/**
 * Two trials on the same images: a is ranked above b. McNemar's test of their paired predictions,
 * the p-value Holm–Bonferroni adjusted over every pair of the sweep.
 */
export const PairComparison = z.object({
  a: TrialId,
  b: TrialId,
  /** Ranking metric of a − that of b (≥ 0). */
  delta: Metric,
  /** Accuracy of a − accuracy of b on the split. */
  accuracyDelta: Metric,
  mcnemarP: Unit,
  mcnemarPAdjusted: Unit,
  /** mcnemarPAdjusted ≤ alpha. */
  significant: z.boolean(),
  method: z.enum(['exact', 'chi2-cc']),
  statistic: z.number().min(0),
  /** Images a got right and b wrong. */
  onlyACorrect: Count,
  /** Images b got right and a wrong. */
  onlyBCorrect: Count,
  bothCorrect: Count,
  bothWrong: Count,
  perClass: z.array(ClassDelta),
});
export type PairComparison = z.infer<typeof PairComparison>;

/** How the sweep's trials compare. */
export const Comparison = z.object({
  metric: RankMetric,
  /** The split the metric (and McNemar's test) is on. */
  split: EvaluatedSplit,
  /** Family-wise error rate of the pairwise tests. */
  alpha: z.number().gt(0).lt(1),
  correction: z.literal('holm'),
  /** Trials evaluated on the split, best first (ties by trial id). */
  ranking: z.array(TrialId),
  /** Every pair of ranked trials evaluated on the same images, in ranking order. */
  pairs: z.array(PairComparison),
  /** Ranked trials left out of the pairs, and why (e.g. evaluated on other images). */
  excluded: z.array(z.object({ trial: TrialId, reason: z.string() })),
});
export type Comparison = z.infer<typeof Comparison>;

/** One sample image of the grid: its truth and every ranked trial's prediction. */
export const SampleGridItem = z.object({
  position: Count,
  index: Count,
  label: Count,
  labelName: z.string(),
  /** The 48×48 image as `data:image/png;base64,…`; absent when the dataset could not be read. */
  image: z.string().optional(),
  predictions: z.array(
    z.object({
      trial: TrialId,
      predicted: Count,
      predictedName: z.string(),
      correct: z.boolean(),
      /** The trial's probability of its prediction; null when it published no probabilities for this image. */
      probability: Unit.nullable(),
    }),
  ),
});
export type SampleGridItem = z.infer<typeof SampleGridItem>;

/** Sample predictions side by side on the comparison split. */
export const SampleGrid = z.object({
  split: EvaluatedSplit,
  items: z.array(SampleGridItem),
});
export type SampleGrid = z.infer<typeof SampleGrid>;

/** The answer in one paragraph, and its parts. */
export const Verdict = z.object({
  text: z.string(),
  best: TrialId.nullable(),
  runnerUp: TrialId.nullable(),
  /** Whether best beats runnerUp significantly (Holm-adjusted McNemar); null without a pair. */
  significant: z.boolean().nullable(),
  /** True while the sweep is still running: the answer may change. */
  provisional: z.boolean(),
  /** Whether the variants' ranking holds in every paired seed (`seeds.holds`); null without replicates. */
  acrossSeeds: z.boolean().nullable().default(null),
});
export type Verdict = z.infer<typeof Verdict>;

/**
 * The evaluator's answer for one sweep: `GET /v1/sweeps/{id}/report` and
 * `sweeps/<id>/report/report.json`. A pure function of the sweep's events (and spec): two evaluators
 * that consumed the same events serve equal reports.
 */
export const SweepReport = z.object({
  /** `fersweep/v2` adds seed/replicate per trial and the variant sections; v1 reports parse with them empty. */
  apiVersion: ReportApiVersion,
  kind: z.literal('SweepReport'),
  sweep: SweepId,
  phase: SweepPhase,
  /** Class names in label order. */
  classes: z.array(z.string()),
  /** Trials the sweep spec plans; null when the evaluator has not seen the spec. */
  expectedTrials: Count.nullable(),
  trialCounts: z.object({
    total: Count,
    pending: Count,
    running: Count,
    succeeded: Count,
    failed: Count,
    /** Ended by the sweep's scheduler (ASHA, median rule). */
    stopped: Count.default(0),
  }),
  /** Time of the latest event. */
  updatedAt: Time.nullable(),
  /** In trial id order. */
  trials: z.array(TrialReport),
  comparison: Comparison,
  samples: SampleGrid.nullable(),
  /** How each variant's configuration was selected (on validation); null in v1 reports and before any trial. */
  selection: Selection.nullable().default(null),
  /** Per variant: configurations × seeds, budget, the selected configuration on test. Empty in v1 reports. */
  variants: z.array(VariantReport).default([]),
  budget: BudgetStatement.nullable().default(null),
  /** The variants' selected configurations compared across seeds; null with fewer than two such variants. */
  seeds: SeedComparison.nullable().default(null),
  verdict: Verdict,
});
export type SweepReport = z.infer<typeof SweepReport>;
