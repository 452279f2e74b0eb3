import { expandTrials, trainingOf, TrialSpec, type SweepSpec } from '@fersweep/contracts';
import type { TrialRecord } from './state.js';

export interface PlanContext {
  /** The artifact root trials write under (the store's URL). */
  output: string;
  /** The dataset URL as trainers open it (resolved from the spec's). */
  dataset: string;
  /** Timestamp of the new records. */
  now: string;
  maxTrials?: number;
}

/**
 * A sweep's trial records, Pending, as its spec expands: what `submit` writes, and what a restart
 * writes again for records that went missing. Pure: the same spec and context give the same records.
 */
export function planTrialRecords(spec: SweepSpec, ctx: PlanContext): TrialRecord[] {
  const id = spec.metadata.name;
  const s = spec.spec;
  return expandTrials(spec, ctx.maxTrials !== undefined ? { maxTrials: ctx.maxTrials } : {}).map((p) => ({
    sweep: id,
    trial: p.trial,
    variant: p.variant,
    phase: 'Pending',
    failures: 0,
    attempts: 0,
    preemptions: 0,
    spec: TrialSpec.parse({
      sweep: id,
      trial: p.trial,
      variant: p.variant,
      model: p.model,
      params: p.params,
      dataset: ctx.dataset,
      output: ctx.output,
      // The sweep's recipe, with the trial's own epochs, batch size and seed (a search may set them).
      ...trainingOf(s),
      epochs: p.epochs,
      batchSize: p.batchSize,
      seed: p.seed,
      ...(p.replicate !== undefined ? { replicate: p.replicate } : {}),
    }),
    ...(s.search
      ? { search: { configuration: p.configuration, ...(p.suggested ? {} : { point: p.searchPoint }) } }
      : {}),
    updatedAt: ctx.now,
  }));
}
