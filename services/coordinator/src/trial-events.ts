/**
 * What a trial event from the bus changes in the coordinator's records: last-epoch metrics and the
 * sweep scheduler's decisions (`trial.epoch`), the trainer's own account of a failure
 * (`trial.failed`), the model URL (`trial.completed`). An event that does not carry the trial's
 * current launch (launches.ts) changes nothing: it is counted and logged.
 */
import type { SweepSpec, TrialEvent } from '@fersweep/contracts';
import type { LaunchVerifier } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { SweepState } from './state.js';
import { toStopRecord, type StopRecord, type SweepStopping } from './stopping.js';
import { withBest } from './search-record.js';

export interface TrialEventContext {
  state: SweepState;
  stopping: SweepStopping;
  launches: LaunchVerifier;
  logger: Logger;
  onRejected?: (reason: string) => void;
  specOf: (sweep: string) => Promise<SweepSpec | undefined>;
  stopTrial: (sweep: string, trial: string, stopped: StopRecord) => Promise<void>;
  /** A TPE configuration of this sweep waits for a result: schedule it again on a completion. */
  onCompleted?: (sweep: string) => Promise<void>;
}

export async function applyTrialEvent(ctx: TrialEventContext, e: TrialEvent): Promise<void> {
  if (e.type === 'trial.stopped') return; // its own
  const check = await ctx.launches.check(e);
  if (!check.ok) {
    ctx.onRejected?.(check.reason);
    ctx.logger.warn(`dropping trial event ${e.id}: ${check.detail}`, {
      sweep: e.sweep,
      trial: e.trial,
      type: e.type,
      reason: check.reason,
    });
    return;
  }
  if (e.type === 'trial.epoch') {
    const record = await ctx.state.updateTrial(e.sweep, e.trial, (t) =>
      t.lastEpoch && t.lastEpoch.epoch >= e.epoch
        ? undefined
        : {
            ...t,
            lastEpoch: {
              epoch: e.epoch,
              loss: e.loss,
              accuracy: e.accuracy,
              valLoss: e.valLoss,
              valAccuracy: e.valAccuracy,
              seconds: e.seconds,
            },
            ...withBest(t.bestVal, e),
          },
    );
    const spec = record && (await ctx.specOf(e.sweep));
    const policy = spec?.spec.scheduler;
    if (record && spec && policy) {
      const decision = await ctx.stopping.onEpoch(e.sweep, policy, spec.spec.epochs, record, e.epoch, e);
      if (decision.action === 'stop') await ctx.stopTrial(e.sweep, e.trial, toStopRecord(e.epoch, decision));
    }
  } else if (e.type === 'trial.failed') {
    const error = { code: e.code, reason: e.reason.slice(0, 2000), exitCode: e.exitCode, retryable: e.retryable };
    await ctx.state.updateTrial(e.sweep, e.trial, (t) => ({ ...t, error }));
  } else if (e.type === 'trial.completed') {
    await ctx.state.updateTrial(e.sweep, e.trial, (t) => ({
      ...t,
      modelUri: e.modelUri,
      bestEpoch: e.bestEpoch,
      stoppedEarly: e.stoppedEarly,
    }));
    const record = await ctx.state.getTrial(e.sweep, e.trial);
    const spec = record && (await ctx.specOf(e.sweep));
    if (record && spec?.spec.scheduler) await ctx.stopping.onCompleted(e.sweep, spec.spec.scheduler, record);
    await ctx.onCompleted?.(e.sweep);
  }
}
