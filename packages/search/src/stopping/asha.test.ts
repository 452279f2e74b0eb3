import { describe, expect, it } from '@jest/globals';
import { AshaConfig, ashaDecide, ashaRungs, emptyAshaState, type AshaState } from './asha.js';
import type { EpochEvent, StopDecision } from './events.js';

const config = AshaConfig.parse({
  policy: 'asha',
  metric: 'valAccuracy',
  mode: 'max',
  minEpochs: 1,
  reductionFactor: 3,
  maxEpochs: 9,
});

/** Feeds events in order, returning every decision and the final state. */
function run(events: EpochEvent[], cfg = config, start: AshaState = emptyAshaState()) {
  let state = start;
  const decisions: StopDecision[] = [];
  for (const e of events) {
    const r = ashaDecide(cfg, state, e);
    state = r.state;
    decisions.push(r.decision);
  }
  return { state, decisions };
}

const ev = (trial: string, epoch: number, value: number, group = 'cnn'): EpochEvent => ({ trial, group, epoch, value });

describe('ASHA', () => {
  it('puts rungs at minEpochs·η^k below the budget', () => {
    expect(ashaRungs(config)).toEqual([1, 3]);
    expect(ashaRungs(AshaConfig.parse({ ...config, minEpochs: 2, reductionFactor: 2, maxEpochs: 30 }))).toEqual([
      2, 4, 8, 16,
    ]);
  });

  it('stops a trial below the top third of the trials that reached its rung before it', () => {
    // Rung 1 values in arrival order: .50 (first: continues), .60 (≥ cutoff .50), .40 (< cutoff .567), .70.
    const { decisions } = run([ev('a', 1, 0.5), ev('b', 1, 0.6), ev('c', 1, 0.4), ev('d', 1, 0.7)]);
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'stop', 'continue']);
    expect(decisions[2]).toMatchObject({ rung: 1, threshold: expect.closeTo(0.5667, 3) });
  });

  it('judges a trial at each rung once, on its first epoch at or past it, and not between rungs', () => {
    const { decisions } = run([
      ev('a', 1, 0.5),
      ev('a', 2, 0.55),
      ev('b', 1, 0.6),
      ev('a', 3, 0.6),
      ev('b', 3, 0.5),
      ev('b', 4, 0.9),
    ]);
    expect(decisions.map((d) => [d.action, d.rung])).toEqual([
      ['continue', 1],
      ['continue', 1],
      ['continue', 1],
      ['continue', 3],
      ['stop', 3],
      ['stop', 3],
    ]);
  });

  it('judges trials only against trials of the same variant', () => {
    const { decisions } = run([
      ev('a', 1, 0.9, 'cnn'),
      ev('b', 1, 0.95, 'cnn'),
      ev('m', 1, 0.3, 'mobilenet'),
      ev('c', 1, 0.2, 'cnn'),
    ]);
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'continue', 'stop']);
  });

  it('minimises with mode min, and counts NaN as the worst value', () => {
    const cfg = AshaConfig.parse({ ...config, metric: 'valLoss', mode: 'min' });
    const { decisions } = run(
      [ev('a', 1, 1.0), ev('b', 1, 0.8), ev('c', 1, 1.2), ev('d', 1, 0.5), ev('e', 1, NaN)],
      cfg,
    );
    expect(decisions.map((d) => d.action)).toEqual(['continue', 'continue', 'stop', 'continue', 'stop']);
    expect(decisions[2]!.threshold).toBeCloseTo(0.8667, 3);
  });

  it('gives a re-delivered event the same decision and leaves the state as it was', () => {
    const first = run([ev('a', 1, 0.5), ev('b', 1, 0.6), ev('c', 1, 0.4)]);
    for (const e of [ev('c', 1, 0.4), ev('c', 2, 0.9), ev('b', 1, 0.6), ev('c', 1, 0.99)]) {
      const again = ashaDecide(config, first.state, e);
      expect(again.state).toBe(first.state);
      expect(again.decision.action).toBe(e.trial === 'c' ? 'stop' : 'continue');
    }
    // A later, better trial does not rescue one already stopped.
    const later = run([ev('d', 1, 0.1), ev('e', 1, 0.1), ev('c', 3, 0.99)], config, first.state);
    expect(later.decisions[2]!.action).toBe('stop');
  });

  it('makes the same decisions when the event log is replayed into a state restored from JSON', () => {
    const events = Array.from({ length: 40 }, (_, i) => {
      const trial = `t${i % 8}`;
      const epoch = Math.floor(i / 8) + 1;
      return ev(trial, epoch, ((i * 37) % 11) / 11, i % 3 === 0 ? 'mobilenet' : 'cnn');
    });
    const live = run(events);
    const restarted = run(events.slice(0, 20));
    const restored: AshaState = JSON.parse(JSON.stringify(restarted.state));
    // The restart re-delivers the last 5 events it had seen, then carries on.
    const resumed = run(events.slice(15), config, restored);
    expect(resumed.decisions).toEqual(live.decisions.slice(15));
    expect(resumed.state).toEqual(live.state);
    expect(live.decisions.some((d) => d.action === 'stop')).toBe(true);
  });

  it('rejects a first rung at or past the budget, and a reduction factor below 2', () => {
    expect(() => AshaConfig.parse({ ...config, minEpochs: 9 })).toThrow(/minEpochs must be below the epoch budget/);
    expect(() => AshaConfig.parse({ ...config, reductionFactor: 1 })).toThrow(/reductionFactor/);
  });
});
