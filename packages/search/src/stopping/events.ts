/**
 * What an early-stopping rule is fed: one trial's metric after one epoch. `group` is the
 * comparison pool — the variant — so trials are only ever judged against trials of their own variant.
 */
export interface EpochEvent {
  trial: string;
  group: string;
  epoch: number;
  /** The scheduler's metric at this epoch (e.g. valAccuracy); NaN counts as the worst value. */
  value: number;
}

/** A rule's verdict on an epoch event. `rung`: the milestone epoch it was judged at, when it was. */
export interface StopDecision {
  action: 'continue' | 'stop';
  rung?: number;
  /** The threshold the value was compared with (the rung's cutoff, or the median). */
  threshold?: number;
  reason?: string;
}

export type Mode = 'max' | 'min';

/** Larger is better after this: the value itself for `max`, its negation for `min`; NaN is the worst. */
export function signed(mode: Mode, value: number): number {
  if (Number.isNaN(value)) return -Infinity;
  return mode === 'max' ? value : -value;
}

/** numpy's default (linear) percentile of sorted values, q in [0, 100]. */
export function percentile(sortedAsc: readonly number[], q: number): number {
  const pos = ((sortedAsc.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sortedAsc[lo]!;
  const b = sortedAsc[hi]!;
  return lo === hi || a === b ? a : a + (b - a) * (pos - lo);
}
