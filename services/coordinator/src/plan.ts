import { expandTrials, SEARCH_TRIAL_FIELDS, trainingOf, TrialSpec, type SweepSpec } from '@fersweep/contracts';
import type { TrialRecord } from './state.js';

export interface PlanContext {
  /** The artifact root trials write under (the store's URL). */
  output: string;
  /** The dataset URL as trainers open it (resolved from the spec's). */
  dataset: string;
  /** Timestamp of the new records. */
  now: string;
  maxTrials?: number;
  /** The sweep's id (`<name>--<tenant>` for a tenant's sweep); default the spec's name. */
  sweepId?: string;
}

/**
 * A sweep's trial records, Pending, as its spec expands: what `submit` writes, and what a restart
 * writes again for records that went missing. Pure: the same spec and context give the same records.
 * A record's spec carries the trial's own params only (its search point's): the variant's params are
 * in the sweep's spec once and merged in at launch (`trialSpecOf`) — issue 12, item 5.
 */
export function planTrialRecords(spec: SweepSpec, ctx: PlanContext): TrialRecord[] {
  const id = ctx.sweepId ?? spec.metadata.name;
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
      params: Object.fromEntries(Object.entries(p.searchPoint).filter(([k]) => !SEARCH_TRIAL_FIELDS.has(k))),
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

/**
 * The spec a trial runs with: its variant's params (from the sweep's spec) under the record's own
 * (its search point, a TPE suggestion). O(size of the variant's params): built at launch, never
 * stored. Records written before this held the whole params: merging changes nothing for them.
 */
export function trialSpecOf(spec: SweepSpec, record: TrialRecord, _ctx?: Partial<PlanContext>): TrialSpec {
  const v = spec.spec.variants.find((x) => x.name === record.variant);
  return TrialSpec.parse({ ...record.spec, params: { ...(v?.params ?? {}), ...record.spec.params } });
}
