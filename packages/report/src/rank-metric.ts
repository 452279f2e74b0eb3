/** Reading a ranking metric (`<split>.<field>`) off a trial, and printing p-values. */
import type { EvaluatedSplit, RankMetric, TrialReport } from '@fersweep/contracts';

/** The field of a split's results a ranking metric names. */
export type MetricField = 'accuracy' | 'macroF1' | 'weightedF1';

/** The split and field a ranking metric names. */
export function parseMetric(metric: RankMetric): { split: EvaluatedSplit; field: MetricField } {
  const [split, field] = metric.split('.') as [EvaluatedSplit, MetricField];
  return { split, field };
}

/** The value of a ranking metric for a trial, undefined before that split was evaluated. */
export function metricValue(trial: TrialReport, metric: RankMetric): number | undefined {
  const { split, field } = parseMetric(metric);
  return trial.splits[split]?.[field];
}

/** A p-value for people: two significant digits, scientific below 0.001. */
export function formatP(p: number): string {
  if (p === 0) return '0';
  if (p < 0.001) return p.toExponential(1);
  return p.toPrecision(2);
}
