import { z } from 'zod';
import { percentile, signed, type EpochEvent, type StopDecision } from './events.js';

/** `scheduler: { policy: asha, metric, mode, minEpochs, reductionFactor }`, as a sweep spec declares it. */
export const AshaPolicy = z
  .object({
    policy: z.literal('asha'),
    metric: z.string().min(1),
    mode: z.enum(['max', 'min']),
    /** The first rung (Ray Tune's grace_period). */
    minEpochs: z.number().int().min(1).default(1),
    /** η: rungs sit at minEpochs·η^k, and the top 1/η of each rung continue. */
    reductionFactor: z.number().min(2).max(100).default(3),
  })
  .strict();

/** The policy plus the sweep's epoch budget: what {@link ashaDecide} runs on. */
export const AshaConfig = AshaPolicy.extend({
  /** The full budget: no rung at or beyond it (a trial that reaches it simply ends). */
  maxEpochs: z.number().int().min(1),
}).refine((c) => c.minEpochs < c.maxEpochs, {
  path: ['minEpochs'],
  message: 'minEpochs must be below the epoch budget',
});
export type AshaConfig = z.infer<typeof AshaConfig>;
export type AshaConfigInput = z.input<typeof AshaConfig>;

/**
 * Everything ASHA has decided, as plain JSON: per group, per rung, each trial's value there (signed:
 * larger is better) and whether it was stopped there. Persist it (or the ordered event log) with the
 * sweep; {@link ashaDecide} over the same events in the same order rebuilds it exactly.
 */
export interface AshaState {
  groups: Record<string, Record<string, Record<string, RungRecord>>>;
}

/** One trial at one rung: its value (signed, larger is better), the cutoff it met or missed, the verdict. */
interface RungRecord {
  value: number;
  stop: boolean;
  cutoff?: number;
}

/** The decision a record stands for: the same object whenever the record is consulted again. */
function verdict(config: AshaConfig, rung: number, rec: RungRecord): StopDecision {
  const raw = (v: number) => (config.mode === 'max' ? v : -v);
  const threshold = rec.cutoff === undefined ? undefined : raw(rec.cutoff);
  return {
    action: rec.stop ? 'stop' : 'continue',
    rung,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(rec.stop
      ? {
          reason: `${config.metric} ${raw(rec.value)} is outside the top 1/${config.reductionFactor} (cutoff ${threshold}) at epoch ${rung}`,
        }
      : {}),
  };
}

export function emptyAshaState(): AshaState {
  return { groups: {} };
}

/** The rung milestones below the budget: minEpochs·η^k < maxEpochs, ascending. */
export function ashaRungs(config: AshaConfig): number[] {
  const rungs: number[] = [];
  for (let r = config.minEpochs; r < config.maxEpochs; r = Math.round(r * config.reductionFactor)) rungs.push(r);
  return rungs;
}

/**
 * Asynchronous successive halving (Li et al. 2020; Ray Tune's ASHAScheduler with one bracket): the
 * first epoch event at or beyond a rung a trial has not been judged at records its value there and
 * stops the trial if the value is below the (1 − 1/η) percentile of the values of the trials of its
 * group that reached that rung before it (so the first to arrive always continues).
 *
 * Pure and idempotent: returns the next state (the input is not modified) and the decision; an
 * event already judged (the same trial at a rung already recorded, or any later epoch of a trial
 * stopped) gets the recorded decision again, so re-delivered events and replays change nothing.
 */
export function ashaDecide(
  config: AshaConfig,
  state: AshaState,
  event: EpochEvent,
): { state: AshaState; decision: StopDecision } {
  const rungsOfGroup = state.groups[event.group] ?? {};
  const rungs = ashaRungs(config);
  // A trial stopped at an earlier rung stays stopped; one already judged at its latest reached rung
  // keeps that verdict.
  for (const r of rungs) {
    const rec = rungsOfGroup[String(r)]?.[event.trial];
    if (rec?.stop && event.epoch >= r) return { state, decision: verdict(config, r, rec) };
  }
  const reached = rungs.filter((r) => event.epoch >= r);
  const top = reached[reached.length - 1];
  if (top === undefined) return { state, decision: { action: 'continue' } };
  const recorded = rungsOfGroup[String(top)] ?? {};
  const seen = recorded[event.trial];
  if (seen) return { state, decision: verdict(config, top, seen) };
  const values = Object.values(recorded)
    .map((x) => x.value)
    .filter((v) => v !== -Infinity)
    .sort((a, b) => a - b);
  const value = signed(config.mode, event.value);
  const cutoff = values.length > 0 ? percentile(values, (1 - 1 / config.reductionFactor) * 100) : undefined;
  const rec: RungRecord = {
    value,
    stop: cutoff !== undefined && value < cutoff,
    ...(cutoff !== undefined ? { cutoff } : {}),
  };
  const next: AshaState = {
    groups: { ...state.groups, [event.group]: { ...rungsOfGroup, [String(top)]: { ...recorded, [event.trial]: rec } } },
  };
  return { state: next, decision: verdict(config, top, rec) };
}
