import type { TrialView } from './api.js';

const TERMINAL = ['Succeeded', 'Failed', 'Cancelled', 'Stopped'];

/** Seconds as a person reads them: "45s", "3m12s", "1h05m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** " (stopped early, best 19)" for a trial that early stopping ended before its last epoch; "" otherwise. */
export function earlyStop(t: TrialView): string {
  if (!t.stoppedEarly) return '';
  return ` (stopped early${t.bestEpoch !== undefined ? `, best ${t.bestEpoch}` : ''})`;
}

/**
 * The phase, or for a trial that early stopping ended, where it stopped and the epoch its model
 * comes from: "Succeeded: stopped early at 29/30 (best 19)" rather than a bare "29/30 | Succeeded".
 */
export function trialStatus(t: TrialView, epochs: number): string {
  if (t.phase === 'Stopped') return trialPhase(t);
  if (!t.stoppedEarly) return t.phase;
  const at = t.lastEpoch ? ` at ${t.lastEpoch.epoch}/${epochs}` : '';
  return `${t.phase}: stopped early${at}${t.bestEpoch !== undefined ? ` (best ${t.bestEpoch})` : ''}`;
}

/** The phase, with the rung for a trial the sweep's scheduler stopped: "Stopped at rung 3". */
export function trialPhase(t: TrialView): string {
  if (t.phase !== 'Stopped' || !t.stopped) return t.phase;
  return `Stopped at ${t.stopped.rung !== undefined ? `rung ${t.stopped.rung}` : `epoch ${t.stopped.epoch}`}`;
}

interface Seen {
  epoch: number;
  /** When this view first saw `epoch` (ms). */
  at: number;
  /** Durations of the epochs seen so far (s): from the trainer's `seconds`, else from when they were seen. */
  durations: number[];
}

/**
 * Remembers, per trial, the durations of the epochs it has seen, and turns them into "ETA 3m12s":
 * mean epoch time × epochs left, counted down from when the last epoch was seen.
 */
export class EpochClock {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly now: () => number = Date.now) {}

  observe(t: TrialView): void {
    const e = t.lastEpoch;
    if (!e) return;
    const prev = this.seen.get(t.trial);
    if (prev && prev.epoch >= e.epoch) return;
    const at = this.now();
    let duration = e.seconds;
    if (duration === undefined) {
      // An API without epoch durations: time between the epochs this view saw, or since the trial started.
      const since = prev ? prev.at : t.startedAt ? Date.parse(t.startedAt) : undefined;
      if (since !== undefined) duration = (at - since) / 1000 / (e.epoch - (prev?.epoch ?? 0));
    }
    this.seen.set(t.trial, {
      epoch: e.epoch,
      at,
      durations: [...(prev?.durations ?? []), ...(duration !== undefined ? [duration] : [])],
    });
  }

  /**
   * "ETA 3m12s" while the trial runs (counting down between epochs when `live`), "ETA -" before its
   * first epoch, "queued" before it starts, "finishing" once trained, "took 5m03s" once it ended.
   */
  eta(t: TrialView, epochs: number, live: boolean): string {
    if (TERMINAL.includes(t.phase)) {
      if (t.startedAt && t.finishedAt)
        return `took ${formatDuration((Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000)}`;
      return '';
    }
    if (t.phase === 'Pending' || t.phase === 'Queued') return 'queued';
    if (t.stoppedEarly !== undefined) return 'finishing'; // trained; the evaluation and upload remain
    const s = this.seen.get(t.trial);
    if (!s || s.durations.length === 0) return 'ETA -';
    const mean = s.durations.reduce((a, b) => a + b, 0) / s.durations.length;
    const left = Math.max(0, epochs - s.epoch) * mean - (live ? (this.now() - s.at) / 1000 : 0);
    return `ETA ${formatDuration(Math.max(0, left))}`;
  }
}
