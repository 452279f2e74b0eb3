import { eventId, type SchedulerSpec, type SweepId, type TrialId, type TrialStopped } from '@fersweep/contracts';
import { MessagingError } from '@fersweep/messaging';
import {
  completeTrial,
  decideStop,
  emptyStoppingState,
  stoppingConfig,
  type StopDecision,
  type StoppingState,
} from '@fersweep/search';
import type { SweepState, TrialRecord } from './state.js';

/** What a trial record keeps of a stop decision (TrialRecord.stopped). */
export type StopRecord = NonNullable<TrialRecord['stopped']>;

/** The epoch metrics a scheduler can read (SchedulerSpec's metric). */
export type EpochMetrics = Record<SchedulerSpec['metric'], number>;

/**
 * The sweep scheduler's early-stopping decisions, persisted: packages/search's pure rules
 * ({@link decideStop}, {@link completeTrial}) over the state in the KV key
 * `stopping.<sweep>.<variant>` (trials are judged only within their variant, so each variant's state
 * is its own value: smaller writes, no contention between variants), written with compare-and-set. The rules are idempotent (an event already judged gets the recorded
 * verdict), so events re-delivered after a coordinator restart, or replayed, decide the same.
 */
export class SweepStopping {
  constructor(private readonly state: SweepState) {}

  /** Judges one epoch of a trial against the trials of its variant; the decision, persisted first. */
  async onEpoch(
    sweep: string,
    policy: SchedulerSpec,
    epochs: number,
    trial: { trial: string; variant: string },
    epoch: number,
    metrics: EpochMetrics,
  ): Promise<StopDecision> {
    const config = stoppingConfig(policy, epochs);
    let decision: StopDecision = { action: 'continue' };
    await this.update(sweep, trial.variant, policy, (s) => {
      const r = decideStop(config, s, {
        trial: trial.trial,
        group: trial.variant,
        epoch,
        value: metrics[policy.metric],
      });
      decision = r.decision;
      return r.state;
    });
    return decision;
  }

  /** A trial ran all its epochs: the median rule counts its curve from now on. */
  async onCompleted(sweep: string, policy: SchedulerSpec, trial: { trial: string; variant: string }): Promise<void> {
    await this.update(sweep, trial.variant, policy, (s) => completeTrial(s, trial.variant, trial.trial));
  }

  /**
   * Every stop recorded in the sweep's state, as trial records keep it: what `reconcile` applies to
   * trials not yet Stopped (a coordinator that died between recording a decision and the trial's phase).
   */
  async recordedStops(
    sweep: string,
    variants: readonly string[],
    policy: SchedulerSpec,
    epochs: number,
  ): Promise<Map<string, StopRecord>> {
    const out = new Map<string, StopRecord>();
    const config = stoppingConfig(policy, epochs);
    for (const variant of variants) {
      const stored = await this.state.getStopping(sweep, variant);
      if (!stored) continue;
      const state = stored.state as StoppingState;
      for (const { trial, group, epoch } of stopsIn(state)) {
        // The rules answer an event at or after the stop with the recorded verdict (the value is ignored).
        const { decision } = decideStop(config, state, { trial, group, epoch, value: Number.NaN });
        if (decision.action === 'stop') out.set(trial, toStopRecord(epoch, decision));
      }
    }
    return out;
  }

  /** Read, change, compare-and-set; retried when another replica wrote in between. */
  private async update(
    sweep: string,
    variant: string,
    policy: SchedulerSpec,
    change: (s: StoppingState) => StoppingState,
  ): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const stored = await this.state.getStopping(sweep, variant);
      const current = (stored?.state as StoppingState | undefined) ?? emptyStoppingState(policy);
      const next = change(current);
      if (next === current) return;
      try {
        await this.state.putStopping(sweep, variant, next, stored?.revision);
        return;
      } catch (err) {
        if (!(err instanceof MessagingError && (err.code === 'WrongRevision' || err.code === 'Exists'))) throw err;
      }
    }
    throw new Error(`could not update stopping.${sweep}.${variant}: too many concurrent writers`);
  }
}

/** The trial record's account of a stop decision made at `epoch`. */
export function toStopRecord(epoch: number, d: StopDecision): StopRecord {
  return {
    epoch,
    ...(d.rung !== undefined ? { rung: d.rung } : {}),
    ...(d.threshold !== undefined && Number.isFinite(d.threshold) ? { threshold: d.threshold } : {}),
    reason: (d.reason ?? 'stopped by the sweep scheduler').slice(0, 500),
  };
}

/** The `trial.stopped` event of a stopped trial (its id the same every time: the bus dedupes repeats). */
export function stopEvent(t: TrialRecord, stopped: StopRecord): TrialStopped {
  return {
    id: eventId({ sweep: t.sweep, trial: t.trial, type: 'trial.stopped' }),
    type: 'trial.stopped',
    sweep: t.sweep as SweepId,
    trial: t.trial as TrialId,
    variant: t.variant,
    attempt: Math.max(1, t.attempts),
    time: new Date().toISOString(),
    ...stopped,
  };
}

/** The (trial, variant, epoch) of every stop a state records. */
function stopsIn(state: StoppingState): { trial: string; group: string; epoch: number }[] {
  const out: { trial: string; group: string; epoch: number }[] = [];
  if (state.policy === 'asha') {
    for (const [group, rungs] of Object.entries(state.asha.groups))
      for (const [rung, trials] of Object.entries(rungs))
        for (const [trial, rec] of Object.entries(trials))
          if (rec.stop) out.push({ trial, group, epoch: Number(rung) });
  } else {
    for (const [group, trials] of Object.entries(state.median.groups))
      for (const [trial, rec] of Object.entries(trials))
        if (rec.stoppedAt !== undefined) out.push({ trial, group, epoch: rec.stoppedAt });
  }
  return out;
}
