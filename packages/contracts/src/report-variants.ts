/**
 * The variant-level half of report.json (fersweep/v2): each variant's trials grouped by
 * configuration and seed replicate, the configuration selected on validation and reported on test,
 * the budget each variant got, and the paired comparison across seeds.
 */
import { z } from 'zod';
import { TrialId } from './ids.js';

const Unit = z.number().min(0).max(1);
const Count = z.number().int().min(0);
const Metric = z.number().finite();

/** The report version this build writes. `fersweep/v1` reports (no variant section) still parse. */
export const REPORT_API_VERSION = 'fersweep/v2';
export const ReportApiVersion = z.enum(['fersweep/v1', 'fersweep/v2']);
export type ReportApiVersion = z.infer<typeof ReportApiVersion>;

/** The epoch metric a configuration is selected by (the sweep's search or scheduler metric). */
export const SelectionMetric = z.enum(['valAccuracy', 'valLoss', 'accuracy', 'loss']);
export type SelectionMetric = z.infer<typeof SelectionMetric>;

/** How each variant's configuration was selected: never on test. */
export const Selection = z.object({
  metric: SelectionMetric,
  mode: z.enum(['max', 'min']),
  /** Where metric and mode come from: the sweep's `search`, its `scheduler`, or the default (val accuracy, max). */
  source: z.enum(['search', 'scheduler', 'default']),
  /** In words, e.g. "Selected on validation, reported on test; no selection on test: …". */
  statement: z.string(),
});
export type Selection = z.infer<typeof Selection>;

/**
 * A mean across seeds with its two-sided Student-t interval. `sd`, `lower` and `upper` are null
 * with fewer than two seeds: one run says nothing about seed-to-seed spread.
 */
export const SeedInterval = z.object({
  n: Count,
  mean: Metric,
  sd: Metric.nullable(),
  lower: Metric.nullable(),
  upper: Metric.nullable(),
  confidence: z.number().gt(0).lt(1),
  method: z.literal('t'),
});
export type SeedInterval = z.infer<typeof SeedInterval>;

/** One run (one seed) of a configuration. */
export const ReplicateRun = z.object({
  trial: TrialId,
  /** The TrialSpec's `replicate` (0-based), null when the sweep has no replicates. */
  replicate: Count.nullable(),
  seed: z.number().int().nullable(),
  /** The selection metric at the epoch the model comes from; null before any epoch. */
  validation: Metric.nullable(),
  testAccuracy: Unit.nullable(),
  testMacroF1: Unit.nullable(),
});
export type ReplicateRun = z.infer<typeof ReplicateRun>;

/** The runs of one configuration: same variant, same params, different seeds. */
export const ConfigurationReport = z.object({
  /** Stable id: the params as canonical JSON (sorted keys). */
  key: z.string(),
  params: z.record(z.string(), z.unknown()),
  /** By replicate, then seed, then trial id. */
  runs: z.array(ReplicateRun),
  /** Mean selection metric over its succeeded runs; null when none succeeded (not eligible). */
  validation: Metric.nullable(),
  succeeded: Count,
});
export type ConfigurationReport = z.infer<typeof ConfigurationReport>;

/** One variant: its search, its budget, its selected configuration and that one's seeds on test. */
export const VariantReport = z.object({
  variant: z.string(),
  model: z.string().nullable(),
  trials: Count,
  /** In order of their first trial id. */
  configurations: z.array(ConfigurationReport),
  /** Epochs asked per trial; null when its trials were given different budgets (or none is known). */
  epochBudget: z.number().int().min(1).nullable(),
  /** Epochs actually trained, summed over its trials (stopped and failed ones included). */
  epochsSpent: Count,
  stopped: Count,
  failed: Count,
  /** `key` of the configuration selected on validation; null while none is eligible. */
  selected: z.string().nullable(),
  /** The selected configuration's mean test accuracy and macro F1 across its seeds. */
  testAccuracy: SeedInterval.nullable(),
  testMacroF1: SeedInterval.nullable(),
  /** Every trial in launch order with its objective (the selection metric): the search history. */
  history: z.array(z.object({ trial: TrialId, objective: Metric.nullable() })),
});
export type VariantReport = z.infer<typeof VariantReport>;

/** Whether the variants were compared at equal budgets, and in words. */
export const BudgetStatement = z.object({
  /** Same number of trials and the same epoch budget per trial for every variant. */
  equal: z.boolean(),
  statement: z.string(),
});
export type BudgetStatement = z.infer<typeof BudgetStatement>;

/**
 * Two variants' selected configurations paired by seed replicate: a is ahead on the mean. The
 * paired t-test and its interval need two pairs; the exact sign and Wilcoxon tests cannot reach
 * p < alpha below log2(2/alpha) pairs (`caveat` says so).
 */
export const SeedPairComparison = z.object({
  a: z.string(),
  b: z.string(),
  /** Test metric compared. */
  metric: z.enum(['accuracy', 'macroF1']),
  differences: z.array(z.object({ replicate: z.string(), a: TrialId, b: TrialId, difference: Metric })),
  /** Mean of a − b with its t-interval (null bounds with fewer than two pairs). */
  meanDifference: SeedInterval,
  tStatistic: z.number().nullable(),
  /** Two-sided paired t-test; null with fewer than two pairs. */
  pValue: Unit.nullable(),
  aAhead: Count,
  bAhead: Count,
  ties: Count,
  signP: Unit,
  wilcoxonP: Unit.nullable(),
  caveat: z.string().nullable(),
});
export type SeedPairComparison = z.infer<typeof SeedPairComparison>;

/** Variants ranked by their selected configuration's mean test metric, compared across seeds. */
export const SeedComparison = z.object({
  metric: z.enum(['accuracy', 'macroF1']),
  /** Variants with a selected, test-evaluated configuration, best mean first. */
  ranking: z.array(z.string()),
  /** The leader against each other variant, in ranking order. */
  pairs: z.array(SeedPairComparison),
  /** The leader is ahead of the runner-up in every paired seed (≥ 2 pairs); null without a pair. */
  holds: z.boolean().nullable(),
  statement: z.string(),
});
export type SeedComparison = z.infer<typeof SeedComparison>;

/** How a report selects each variant's configuration: `Selection` without its words. */
export type SelectionRule = Omit<Selection, 'statement'>;

/** Val accuracy, higher is better: the selection rule of a sweep whose spec names none. */
export const DEFAULT_SELECTION: SelectionRule = { metric: 'valAccuracy', mode: 'max', source: 'default' };

/**
 * The selection rule a sweep spec implies: its search's `metric`/`mode` when it declares them (a
 * model-based search optimises them), else its scheduler's (the metric trials are stopped by), else
 * val accuracy, max. Takes the spec's `spec` loosely so that search fields added later are read too.
 */
export function selectionRuleOf(spec: {
  search?: unknown;
  scheduler?: { metric: string; mode: 'max' | 'min' };
}): SelectionRule {
  const search = spec.search as { metric?: unknown; mode?: unknown } | undefined;
  const searchMetric = SelectionMetric.safeParse(search?.metric);
  const searchMode = z.enum(['max', 'min']).safeParse(search?.mode);
  if (searchMetric.success)
    return {
      metric: searchMetric.data,
      mode: searchMode.success ? searchMode.data : modeOf(searchMetric.data),
      source: 'search',
    };
  const scheduler = SelectionMetric.safeParse(spec.scheduler?.metric);
  if (scheduler.success && spec.scheduler)
    return { metric: scheduler.data, mode: spec.scheduler.mode, source: 'scheduler' };
  return DEFAULT_SELECTION;
}

/** Losses are minimised, accuracies maximised. */
function modeOf(metric: SelectionMetric): 'max' | 'min' {
  return metric === 'loss' || metric === 'valLoss' ? 'min' : 'max';
}

/** A variant's selected configuration, or undefined while none is eligible. */
export function selectedConfiguration(v: VariantReport): ConfigurationReport | undefined {
  return v.configurations.find((c) => c.key === v.selected);
}

/** Whether selection means anything: some variant tried more than one run (a search or replicates). */
export function hasSelection(variants: readonly VariantReport[]): boolean {
  return variants.some((v) => v.trials > 1);
}
