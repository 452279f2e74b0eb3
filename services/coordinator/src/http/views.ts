/** The API's public documents of sweeps and trials (no internal fields). */
import type { Principal } from '@fersweep/contracts';
import type { SweepRecord, TrialRecord } from '../state.js';
import { ANONYMOUS, identity } from '../tenancy/http.js';

/**
 * Public view of a trial (no internal fields). Its own search point only (`point`): the variant's
 * params are in the sweep's `spec`, once per response rather than once per trial.
 */
export function trialView(t: TrialRecord) {
  return {
    trial: t.trial,
    variant: t.variant,
    model: t.spec.model,
    // The trial's own params (its search point's): the variant's are in the sweep's `spec`, once.
    params: t.spec.params,
    phase: t.phase,
    attempts: t.attempts,
    failures: t.failures,
    preemptions: t.preemptions,
    ...(t.lastEpoch ? { lastEpoch: t.lastEpoch } : {}),
    ...(t.modelUri ? { modelUri: t.modelUri } : {}),
    ...(t.bestEpoch !== undefined ? { bestEpoch: t.bestEpoch } : {}),
    ...(t.stoppedEarly !== undefined ? { stoppedEarly: t.stoppedEarly } : {}),
    ...(t.stopped ? { stopped: t.stopped } : {}),
    ...(t.search ? { search: t.search } : {}),
    ...(t.spec.replicate !== undefined ? { replicate: t.spec.replicate, seed: t.spec.seed } : {}),
    ...(t.bestVal ? { bestVal: t.bestVal } : {}),
    ...(t.message ? { message: t.message } : {}),
    ...(t.error ? { error: t.error } : {}),
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
  };
}

/** Public view of a sweep, with its trials when given: what GET /v1/sweeps/{id} answers. */
export function sweepView(s: SweepRecord, trials?: TrialRecord[], who: Principal = ANONYMOUS) {
  return {
    ...identity(who, s.id),
    phase: s.phase,
    createdAt: s.createdAt,
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    trialCount: s.trialIds.length,
    ...(s.budget ? { budget: s.budget } : {}),
    ...(trials ? { trials: trials.map(trialView), spec: s.spec } : {}),
  };
}
