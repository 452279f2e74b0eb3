import { z } from 'zod';
import { percentile, signed, type EpochEvent, type StopDecision } from './events.js';

/**
 * `scheduler: { policy: median, metric, mode, … }`: the median stopping rule (Golovin et al. 2017,
 * Google Vizier; Katib's medianstop; Optuna's MedianPruner).
 */
export const MedianConfig = z
  .object({
    policy: z.literal('median'),
    metric: z.string().min(1),
    mode: z.enum(['max', 'min']),
    /** No trial is stopped before this many trials of its group have completed (Optuna n_startup_trials; Katib min_trials_required). */
    minTrials: z.number().int().min(1).default(3),
    /** No trial is judged before this epoch (Optuna n_warmup_steps + 1; Katib start_step). */
    startEpoch: z.number().int().min(1).default(4),
  })
  .strict();
export type MedianConfig = z.infer<typeof MedianConfig>;
export type MedianConfigInput = z.input<typeof MedianConfig>;

interface TrialRecord {
  /** Signed (larger is better) metric per epoch. */
  curve: Record<string, number>;
  completed: boolean;
  /** The epoch it was stopped at. */
  stoppedAt?: number;
  /** The median it was stopped against (signed). */
  threshold?: number;
  /** The latest epoch judged (and let continue). */
  judgedTo?: number;
}

/** Per group, per trial: its curve so far and the verdicts given. Plain JSON; persist it with the sweep. */
export interface MedianState {
  groups: Record<string, Record<string, TrialRecord>>;
}

export function emptyMedianState(): MedianState {
  return { groups: {} };
}

/** A trial finished its epochs: its curve now counts for the median of the trials still running. */
export function medianComplete(state: MedianState, group: string, trial: string): MedianState {
  const trials = state.groups[group] ?? {};
  const rec = trials[trial] ?? { curve: {}, completed: false };
  if (rec.completed) return state;
  return { groups: { ...state.groups, [group]: { ...trials, [trial]: { ...rec, completed: true } } } };
}

/**
 * The median stopping rule as Optuna's MedianPruner applies it: at epoch e ≥ startEpoch, once at
 * least `minTrials` trials of the group have completed, stop the trial if its best value so far is
 * worse than the median of those completed trials' values at epoch e (trials that have no value at e
 * are left out).
 *
 * Pure and idempotent: the input state is not modified; an event at an epoch already judged gets
 * the same verdict again (a stopped trial stays stopped), so re-delivered events and replays of the
 * event log change nothing.
 */
export function medianDecide(
  config: MedianConfig,
  state: MedianState,
  event: EpochEvent,
): { state: MedianState; decision: StopDecision } {
  const trials = state.groups[event.group] ?? {};
  const rec = trials[event.trial] ?? { curve: {}, completed: false };
  if (rec.stoppedAt !== undefined && event.epoch >= rec.stoppedAt) return { state, decision: stopVerdict(config, rec) };
  if (rec.judgedTo !== undefined && event.epoch <= rec.judgedTo) return { state, decision: { action: 'continue' } };

  const curve = { ...rec.curve, [String(event.epoch)]: signed(config.mode, event.value) };
  const put = (r: TrialRecord): MedianState => ({
    groups: { ...state.groups, [event.group]: { ...trials, [event.trial]: r } },
  });
  const done = Object.entries(trials).filter(([id, t]) => id !== event.trial && t.completed);
  // Every continue is recorded too: a re-delivered event must not be judged again against a pool
  // that has grown since.
  const keep = (): { state: MedianState; decision: StopDecision } => ({
    state: put({ ...rec, curve, judgedTo: Math.max(rec.judgedTo ?? 0, event.epoch) }),
    decision: { action: 'continue' },
  });
  if (event.epoch < config.startEpoch || done.length < config.minTrials) return keep();

  const atEpoch = done
    .map(([, t]) => t.curve[String(event.epoch)])
    .filter((v): v is number => v !== undefined && v !== -Infinity);
  if (atEpoch.length < config.minTrials) return keep();
  const median = percentile(
    atEpoch.sort((a, b) => a - b),
    50,
  );
  const best = Math.max(
    ...Object.entries(curve)
      .filter(([e]) => Number(e) <= event.epoch)
      .map(([, v]) => v),
  );
  if (best >= median) return keep();
  const stopped: TrialRecord = { ...rec, curve, stoppedAt: event.epoch, threshold: median };
  return { state: put(stopped), decision: stopVerdict(config, stopped) };
}

/** The stop decision a record stands for: the same object whenever it is consulted again. */
function stopVerdict(config: MedianConfig, rec: TrialRecord): StopDecision {
  const threshold = config.mode === 'max' ? rec.threshold! : -rec.threshold!;
  return {
    action: 'stop',
    rung: rec.stoppedAt!,
    threshold,
    reason: `best ${config.metric} so far is worse than the median ${threshold} of completed trials at epoch ${rec.stoppedAt}`,
  };
}
