/**
 * Sweep manifests for the stand-in trainer (fixtures/fake-trainer.mjs) and the records a submission stores for
 * them: the shape every coordinator test submits, with its own variants, params and spec fields.
 */
import type { SweepSpec } from '@fersweep/contracts';
import { planTrialRecords } from '../plan.js';
import type { SweepRecord } from '../state.js';

export interface FakeVariant {
  name: string;
  /** Default 'cnn'. */
  model?: string;
  /** FakeTrainerParams, after `stateDir`. */
  params?: Record<string, unknown>;
}

/** A `fersweep/v1` Sweep of fake-trainer variants writing under `stateDir`; `spec` adds or replaces spec fields. */
export function fakeSweep(name: string, stateDir: string, variants: FakeVariant[], spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      dataset: 'file:///nowhere',
      epochs: 1,
      variants: variants.map((v) => ({ name: v.name, model: v.model ?? 'cnn', params: { stateDir, ...v.params } })),
      ...spec,
    },
  };
}

/** The sweep record and trial records a submission of `spec` stores (phase Pending, trials under `output`). */
export function sweepRecords(spec: SweepSpec, output: string): [SweepRecord, ReturnType<typeof planTrialRecords>] {
  const now = new Date().toISOString();
  const trials = planTrialRecords(spec, { output, dataset: spec.spec.dataset, now });
  const sweep: SweepRecord = {
    id: spec.metadata.name,
    spec,
    specHash: JSON.stringify(spec),
    phase: 'Pending',
    trialIds: trials.map((t) => t.trial),
    createdAt: now,
    updatedAt: now,
  };
  return [sweep, trials];
}
