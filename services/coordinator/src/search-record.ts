import { z } from 'zod';
import { SearchValue, type SearchMetric } from '@fersweep/contracts';

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

export const BestVal = z.object({ valAccuracy: Best, valLoss: Best }).strict();
export type BestVal = z.infer<typeof BestVal>;

/** `best` updated with one epoch's validation metrics (NaN never counts as better). */
export function withEpoch(
  best: BestVal | undefined,
  e: { epoch: number; valAccuracy: number; valLoss: number },
): BestVal | undefined {
  const better = (metric: SearchMetric, value: number) => {
    const old = best?.[metric];
    if (Number.isNaN(value)) return old ?? { epoch: e.epoch, value };
    if (!old || Number.isNaN(old.value)) return { epoch: e.epoch, value };
    const improves = metric === 'valLoss' ? value < old.value : value > old.value;
    return improves ? { epoch: e.epoch, value } : old;
  };
  const next = { valAccuracy: better('valAccuracy', e.valAccuracy), valLoss: better('valLoss', e.valLoss) };
  return best && JSON.stringify(next) === JSON.stringify(best) ? best : next;
}

/** The record fields an epoch event changes beyond `lastEpoch`: `bestVal`, when it improves. */
export function withBest(
  best: BestVal | undefined,
  e: { epoch: number; valAccuracy: number; valLoss: number },
): { bestVal?: BestVal } {
  const next = withEpoch(best, e);
  return next ? { bestVal: next } : {};
}
