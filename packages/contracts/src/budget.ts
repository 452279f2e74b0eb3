import { z } from 'zod';
import { SelectionMetric, selectionRuleOf } from './report-variants.js';
import type { SweepSpec, TrialPlan } from './sweep.js';

/**
 * What each variant of a sweep is given: the comparison is fair when every variant gets the same
 * number of configurations, seed replicates and epochs, and each variant's best is selected on the
 * same validation metric. Recorded on the sweep (coordinator `SweepRecord.budget`, `GET
 * /v1/sweeps/{id}`) so a report can state it; `sweepBudget` computes it from the spec and its plan,
 * so a reader with only `spec.json` (the evaluator) gets the same value.
 */
export const SweepBudget = z
  .object({
    method: z.enum(['none', 'grid', 'random', 'tpe']),
    /** Seed replicates per configuration (1 without `replicates`). */
    replicates: z.number().int().min(1),
    /** Every trial's epoch budget, or null when `epochs` is a search parameter (it then varies per trial). */
    epochsPerTrial: z.number().int().min(1).nullable(),
    variants: z.array(
      z
        .object({
          variant: z.string(),
          /** Distinct configurations (search points) tried. */
          configurations: z.number().int().min(0),
          /** Trials: configurations × replicates. */
          trials: z.number().int().min(0),
          /** The epochs its trials may train in all (the sum of their budgets; early stopping may spend fewer). */
          epochs: z.number().int().min(0),
        })
        .strict(),
    ),
    /** Every variant has the same configurations count, trials and epochs. */
    equal: z.boolean(),
    /**
     * How each variant's best configuration is chosen (`selectionRuleOf`, as the report and TPE): on
     * validation (or a training metric a scheduler names), never on test.
     */
    selection: z
      .object({ split: z.enum(['val', 'train']), metric: SelectionMetric, mode: z.enum(['max', 'min']) })
      .strict(),
  })
  .strict();
export type SweepBudget = z.infer<typeof SweepBudget>;

/** The budget of each variant of `spec`, from its planned trials (`expandTrials(spec)`). */
export function sweepBudget(spec: SweepSpec, plans: readonly TrialPlan[]): SweepBudget {
  const s = spec.spec;
  const variants = s.variants.map((v) => {
    const mine = plans.filter((p) => p.variant === v.name);
    return {
      variant: v.name,
      configurations: new Set(mine.map((p) => p.configuration)).size,
      trials: mine.length,
      epochs: mine.reduce((a, p) => a + p.epochs, 0),
    };
  });
  const first = variants[0];
  const rule = selectionRuleOf(s);
  const searchesEpochs = s.search !== undefined && 'epochs' in s.search.parameters;
  return {
    method: s.search?.method ?? 'none',
    replicates: s.replicates ?? 1,
    epochsPerTrial: searchesEpochs ? null : s.epochs,
    variants,
    equal: variants.every(
      (v) => v.configurations === first?.configurations && v.trials === first.trials && v.epochs === first.epochs,
    ),
    selection: { split: rule.metric.startsWith('val') ? 'val' : 'train', metric: rule.metric, mode: rule.mode },
  };
}
