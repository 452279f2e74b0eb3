import { describe, expect, it } from '@jest/globals';
import { completeTrial, decideStop, emptyStoppingState, StoppingPolicy, stoppingConfig } from './policy.js';

describe('stopping policies as a spec declares them', () => {
  it('parses asha and median with their defaults, and refuses an unknown policy with the field named', () => {
    expect(StoppingPolicy.parse({ policy: 'asha', metric: 'valAccuracy', mode: 'max' })).toEqual({
      policy: 'asha',
      metric: 'valAccuracy',
      mode: 'max',
      minEpochs: 1,
      reductionFactor: 3,
    });
    expect(StoppingPolicy.parse({ policy: 'median', metric: 'valLoss', mode: 'min' })).toMatchObject({
      minTrials: 3,
      startEpoch: 4,
    });
    const bad = StoppingPolicy.safeParse({ policy: 'hyperband', metric: 'valAccuracy', mode: 'max' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['policy']);
    expect(StoppingPolicy.safeParse({ policy: 'asha', metric: 'valAccuracy', mode: 'max', maxEpochs: 9 }).success).toBe(
      false,
    );
  });

  it("adds the sweep's epoch budget, refusing a first rung at or past it", () => {
    const policy = StoppingPolicy.parse({ policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 10 });
    expect(() => stoppingConfig(policy, 10)).toThrow(/minEpochs must be below the epoch budget/);
    expect(stoppingConfig(policy, 30)).toMatchObject({ maxEpochs: 30, minEpochs: 10 });
  });

  it('routes events to the rule of the sweep and keeps the state tagged', () => {
    const asha = stoppingConfig(StoppingPolicy.parse({ policy: 'asha', metric: 'valAccuracy', mode: 'max' }), 9);
    let state = emptyStoppingState(asha);
    for (const [trial, value] of [
      ['a', 0.5],
      ['b', 0.6],
      ['c', 0.4],
    ] as const) {
      const r = decideStop(asha, state, { trial, group: 'cnn', epoch: 1, value });
      state = r.state;
      if (trial === 'c') expect(r.decision.action).toBe('stop');
    }
    expect(completeTrial(state, 'cnn', 'a')).toBe(state);
    const median = stoppingConfig(StoppingPolicy.parse({ policy: 'median', metric: 'valAccuracy', mode: 'max' }), 9);
    expect(() => decideStop(median, state, { trial: 'a', group: 'cnn', epoch: 2, value: 0.5 })).toThrow(/policy asha/);
    const m = completeTrial(emptyStoppingState(median), 'cnn', 'a');
    expect(m).toEqual({ policy: 'median', median: { groups: { cnn: { a: { curve: {}, completed: true } } } } });
  });
});
