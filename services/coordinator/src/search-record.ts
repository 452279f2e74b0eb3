import { z } from 'zod';
import { SearchValue } from '@fersweep/contracts';

/** A trial record's search fields: which configuration of its variant it is, and its point. */
export const TrialSearch = z
  .object({
    configuration: z.number().int().min(0),
    /** The point (parameter → value); absent for a TPE trial not suggested yet. */
    point: z.record(z.string(), SearchValue).optional(),
    /** When TPE suggested the point (absent for grid and random points, fixed at submission). */
    suggestedAt: z.string().optional(),
  })
  .strict();
export type TrialSearch = z.infer<typeof TrialSearch>;

const Best = z.object({ epoch: z.number().int().min(0), value: z.number() }).strict();

/** The epoch metrics a search or a report may select on (contracts `SelectionMetric`). */
const METRICS = ['valAccuracy', 'valLoss', 'accuracy', 'loss'] as const;
type Metric = (typeof METRICS)[number];

export const BestVal = z.object({ valAccuracy: Best, valLoss: Best, accuracy: Best, loss: Best }).strict();
export type BestVal = z.infer<typeof BestVal>;

/** `best` updated with one epoch's metrics (losses minimised, accuracies maximised; NaN never counts as better). */
export function withEpoch(best: BestVal | undefined, e: { epoch: number } & Record<Metric, number>): BestVal {
  const better = (metric: Metric) => {
    const value = e[metric];
    const old = best?.[metric];
    if (Number.isNaN(value)) return old ?? { epoch: e.epoch, value };
    if (!old || Number.isNaN(old.value)) return { epoch: e.epoch, value };
    const improves = metric.endsWith('oss') ? value < old.value : value > old.value;
    return improves ? { epoch: e.epoch, value } : old;
  };
  const next = Object.fromEntries(METRICS.map((m) => [m, better(m)])) as BestVal;
  return best && JSON.stringify(next) === JSON.stringify(best) ? best : next;
}

/** The record fields an epoch event changes beyond `lastEpoch`: `bestVal`. */
export function withBest(
  best: BestVal | undefined,
  e: { epoch: number } & Record<Metric, number>,
): { bestVal: BestVal } {
  return { bestVal: withEpoch(best, e) };
}
