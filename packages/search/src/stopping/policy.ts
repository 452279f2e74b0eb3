import { z } from 'zod';
import { AshaConfig, ashaDecide, AshaPolicy, emptyAshaState, type AshaState } from './asha.js';
import type { EpochEvent, StopDecision } from './events.js';
import { emptyMedianState, MedianConfig, medianComplete, medianDecide, type MedianState } from './median.js';

/**
 * What a sweep spec declares as `spec.scheduler` — ASHA without its epoch budget (the coordinator
 * supplies the sweep's `epochs`), or the median rule. The contract can narrow `metric` to the epoch
 * event's metrics.
 */
export const StoppingPolicy = z.discriminatedUnion('policy', [AshaPolicy, MedianConfig]);
export type StoppingPolicy = z.infer<typeof StoppingPolicy>;
export type StoppingPolicyInput = z.input<typeof StoppingPolicy>;

/** The decisions so far of either rule, tagged; plain JSON to persist with the sweep. */
export type StoppingState = { policy: 'asha'; asha: AshaState } | { policy: 'median'; median: MedianState };

export function emptyStoppingState(policy: { policy: 'asha' | 'median' }): StoppingState {
  return policy.policy === 'asha'
    ? { policy: 'asha', asha: emptyAshaState() }
    : { policy: 'median', median: emptyMedianState() };
}

/** A spec's policy with the sweep's epoch budget: the config {@link decideStop} takes. Throws a ZodError when ASHA's first rung is not below the budget. */
export function stoppingConfig(policy: StoppingPolicy, maxEpochs: number): AshaConfig | MedianConfig {
  return policy.policy === 'asha' ? AshaConfig.parse({ ...policy, maxEpochs }) : policy;
}

/** One epoch event through whichever rule the sweep uses (see {@link ashaDecide}, {@link medianDecide}). */
export function decideStop(
  config: AshaConfig | MedianConfig,
  state: StoppingState,
  event: EpochEvent,
): { state: StoppingState; decision: StopDecision } {
  if (config.policy === 'asha' && state.policy === 'asha') {
    const r = ashaDecide(config, state.asha, event);
    return { state: r.state === state.asha ? state : { policy: 'asha', asha: r.state }, decision: r.decision };
  }
  if (config.policy === 'median' && state.policy === 'median') {
    const r = medianDecide(config, state.median, event);
    return { state: r.state === state.median ? state : { policy: 'median', median: r.state }, decision: r.decision };
  }
  throw new TypeError(`stopping state of policy ${state.policy} given to a ${config.policy} rule`);
}

/** A trial finished all its epochs (the median rule counts it from now on; ASHA needs nothing). */
export function completeTrial(state: StoppingState, group: string, trial: string): StoppingState {
  if (state.policy !== 'median') return state;
  const median = medianComplete(state.median, group, trial);
  return median === state.median ? state : { policy: 'median', median };
}
