import { describe, expect, it } from '@jest/globals';
import type { EpochEvent, StopDecision } from './events.js';
import { emptyMedianState, MedianConfig, medianComplete, medianDecide, type MedianState } from './median.js';

const config = MedianConfig.parse({
  policy: 'median',
  metric: 'valAccuracy',
  mode: 'max',
  minTrials: 2,
  startEpoch: 2,
});

type Step = EpochEvent | { complete: string; group?: string };
function run(steps: Step[], start: MedianState = emptyMedianState(), cfg = config) {
  let state = start;
  const decisions: StopDecision[] = [];
  for (const s of steps) {
    if ('complete' in s) state = medianComplete(state, s.group ?? 'cnn', s.complete);
    else {
      const r = medianDecide(cfg, state, s);
      state = r.state;
      decisions.push(r.decision);
    }
  }
  return { state, decisions };
}
const ev = (trial: string, epoch: number, value: number, group = 'cnn'): EpochEvent => ({ trial, group, epoch, value });
const curve = (trial: string, values: number[], group = 'cnn'): Step[] => [
  ...values.map((v, i) => ev(trial, i + 1, v, group)),
  { complete: trial, group },
];

describe('median stopping rule', () => {
  const done = [...curve('a', [0.3, 0.5, 0.6]), ...curve('b', [0.2, 0.4, 0.7]), ...curve('c', [0.1, 0.2, 0.3])];

  it('stops a trial whose best so far is below the median of the completed trials at that epoch', () => {
    // Completed at epoch 2: .5, .4, .2 → median .4. Epoch 1 is before startEpoch.
    const { decisions } = run([...done, ev('d', 1, 0.0), ev('d', 2, 0.35), ev('e', 1, 0.45), ev('e', 2, 0.3)]);
    expect(decisions.slice(-4).map((d) => d.action)).toEqual(['continue', 'stop', 'continue', 'continue']);
    expect(decisions[decisions.length - 3]).toMatchObject({ rung: 2, threshold: 0.4 });
  });

  it('waits for minTrials completed trials of the same group', () => {
    const other = [...curve('x', [0.9, 0.9, 0.9], 'mobilenet'), ...curve('y', [0.9, 0.9, 0.9], 'mobilenet')];
    const { decisions } = run([...other, ...curve('a', [0.5, 0.5]), ev('d', 2, 0.1)]);
    expect(decisions[decisions.length - 1]!.action).toBe('continue');
  });

  it('minimises with mode min', () => {
    const cfg = MedianConfig.parse({ ...config, mode: 'min', metric: 'valLoss' });
    const { decisions } = run(
      [...curve('a', [2, 1]), ...curve('b', [2, 1.2]), ev('d', 1, 3), ev('d', 2, 1.5)],
      emptyMedianState(),
      cfg,
    );
    expect(decisions[decisions.length - 1]).toMatchObject({ action: 'stop', threshold: 1.1 });
  });

  it('gives a re-delivered event the same decision even after more trials completed', () => {
    // d is judged continue at epoch 2 while only a and b completed; c (which lowers nothing but
    // changes the pool) completes afterwards; re-delivering d's epoch 2 keeps the verdict.
    const early = run([...curve('a', [0.3, 0.5]), ...curve('b', [0.2, 0.1]), ev('d', 2, 0.31)]);
    expect(early.decisions[early.decisions.length - 1]!.action).toBe('continue');
    const later = run([...curve('c', [0.9, 0.9]), ...curve('e', [0.9, 0.9]), ev('d', 2, 0.31)], early.state);
    expect(later.decisions[later.decisions.length - 1]!.action).toBe('continue');
    // …while a new epoch is judged against the grown pool, and a stop sticks.
    const next = run([ev('d', 3, 0.31), ev('d', 3, 0.31), ev('d', 4, 0.99)], later.state);
    expect(next.decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'continue']);
  });

  it('makes the same decisions when the log is replayed into a state restored from JSON', () => {
    const steps: Step[] = [
      ...done,
      ev('d', 1, 0.1),
      ev('d', 2, 0.45),
      ev('e', 2, 0.1),
      ev('d', 3, 0.2),
      ev('e', 3, 0.9),
    ];
    const live = run(steps);
    const half = run(steps.slice(0, 12));
    const resumed = run(steps.slice(10), JSON.parse(JSON.stringify(half.state)) as MedianState);
    expect(resumed.state).toEqual(live.state);
    expect(resumed.decisions.slice(-5)).toEqual(live.decisions.slice(-5));
    expect(live.decisions.slice(-5).map((d) => d.action)).toEqual(['continue', 'continue', 'stop', 'stop', 'stop']);
  });
});
