import { describe, expect, it } from '@jest/globals';
import { SweepSpec, TrialSpec } from '@fersweep/contracts';
import { planTrialRecords } from './plan.js';
import { withEpoch } from './search-record.js';
import type { TrialRecord } from './state.js';
import { COMPLETED_GRACE_MS, samplerOf, suggestionWindow, tpeHistory, withPoint } from './suggest.js';

const spec = (over: Record<string, unknown> = {}) =>
  SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'tpe' },
    spec: {
      dataset: 'file:///d',
      epochs: 4,
      parallelism: 2,
      variants: [{ name: 'a', model: 'cnn' }],
      search: {
        method: 'tpe',
        samples: 8,
        startupTrials: 2,
        parameters: { learningRate: { type: 'float', min: 1e-4, max: 1e-1, log: true } },
      },
      ...over,
    },
  });

/** The variant's records, configurations below `done` ended with `phase` and learning rate = value. */
function records(s: SweepSpec, ended: Record<number, { phase: TrialRecord['phase']; value?: number; epoch?: number }>) {
  return planTrialRecords(s, { output: 'file:///o', dataset: 'file:///d', now: '' }).map((r): TrialRecord => {
    const k = r.search!.configuration;
    const e = ended[k];
    const point = e ? { learningRate: 0.001 * (k + 1) } : undefined;
    const best = e?.value !== undefined ? { epoch: e.epoch ?? 4, value: e.value } : undefined;
    return {
      ...r,
      phase: e?.phase ?? 'Pending',
      search: { configuration: k, ...(point ? { point } : {}) },
      ...(best
        ? {
            bestVal: {
              valAccuracy: best,
              valLoss: { epoch: best.epoch, value: 1 - best.value },
              accuracy: best,
              loss: { epoch: best.epoch, value: 1 - best.value },
            },
            lastEpoch: { epoch: best.epoch, loss: 0, accuracy: 0, valLoss: 1 - best.value, valAccuracy: best.value },
          }
        : {}),
      ...(e?.phase === 'Succeeded' ? { bestEpoch: best?.epoch ?? 4 } : {}),
    };
  });
}

describe('the TPE history a configuration is suggested from', () => {
  it('is the configurations below k − window with their results, and the window as pending points', () => {
    const s = spec();
    expect(suggestionWindow(s)).toBe(2);
    const trials = records(s, {
      0: { phase: 'Succeeded', value: 0.5 },
      1: { phase: 'Stopped', value: 0.2, epoch: 1 },
      2: { phase: 'Succeeded', value: 0.7 },
      3: { phase: 'Running' },
    });
    expect(tpeHistory(s, trials, 4, true)).toEqual([
      { trial: 0, params: { learningRate: 0.001 }, state: 'complete', value: 0.5 },
      // Stopped by ASHA: pruned at the epoch it reached, with its value there (as Optuna).
      { trial: 1, params: { learningRate: 0.002 }, state: 'pruned', step: 1, value: 0.2 },
      // Ended, but inside the window: pending, so the suggestion never depends on finishing order.
      { trial: 2, params: { learningRate: 0.003 }, state: 'running' },
      { trial: 3, params: { learningRate: 0.004 }, state: 'running' },
    ]);
  });

  it('waits while a configuration below the window runs, or its trial.completed has not arrived', () => {
    const s = spec();
    expect(
      tpeHistory(s, records(s, { 0: { phase: 'Running' }, 1: { phase: 'Running' }, 2: { phase: 'Running' } }), 3, true),
    ).toBeUndefined();
    const noCompleted = records(s, {
      0: { phase: 'Succeeded', value: 0.5 },
      1: { phase: 'Running' },
      2: { phase: 'Running' },
    });
    delete noCompleted[0]!.bestEpoch;
    expect(tpeHistory(s, noCompleted, 3, true)).toBeUndefined();
    // A trial.completed lost with an in-process bus (embedded mode, restarted) is waited for a grace only.
    noCompleted[0]!.finishedAt = new Date(Date.now() - COMPLETED_GRACE_MS - 1).toISOString();
    expect(tpeHistory(s, noCompleted, 3, true)![0]).toMatchObject({ state: 'complete', value: 0.5 });
    noCompleted[0]!.finishedAt = new Date().toISOString();
    // Without trial events there is nothing to wait for: a success counts with what the record has.
    expect(tpeHistory(s, noCompleted, 3, false)![0]).toMatchObject({ state: 'complete', value: 0.5 });
  });

  it("averages a configuration's replicates once all have ended; failed ones are left out", () => {
    const s = spec({ replicates: 2, parallelism: 2 });
    expect(suggestionWindow(s)).toBe(1);
    const trials = records(s, { 0: { phase: 'Succeeded', value: 0.4 }, 1: { phase: 'Succeeded', value: 0.6 } });
    // Replicate values differ: configuration 0's r1 did better.
    trials[1]!.bestVal = { ...trials[1]!.bestVal!, valAccuracy: { epoch: 3, value: 0.6 } };
    expect(tpeHistory(s, trials, 2, true)![0]).toEqual({
      trial: 0,
      params: { learningRate: 0.001 },
      state: 'complete',
      value: 0.5,
    });
    trials[1]!.phase = 'Running';
    expect(tpeHistory(s, trials, 2, true)).toBeUndefined();
    trials[1]!.phase = 'Failed';
    expect(tpeHistory(s, trials, 2, true)![0]).toMatchObject({ state: 'complete', value: 0.4 });
    trials[0]!.phase = 'Failed';
    expect(tpeHistory(s, trials, 2, true)![0]).toMatchObject({ state: 'failed' });
  });

  it('suggests the same point for the same history, and inside the declared range', () => {
    const s = spec();
    const trials = records(s, {
      0: { phase: 'Succeeded', value: 0.5 },
      1: { phase: 'Succeeded', value: 0.9 },
      2: { phase: 'Succeeded', value: 0.1 },
      3: { phase: 'Succeeded', value: 0.3 },
      4: { phase: 'Running' },
      5: { phase: 'Running' },
    });
    const h = tpeHistory(s, trials, 6, true)!;
    const a = samplerOf(s).suggest(6, h);
    expect(samplerOf(spec()).suggest(6, h)).toEqual(a);
    expect(a.learningRate).toBeGreaterThanOrEqual(1e-4);
    expect(a.learningRate).toBeLessThanOrEqual(1e-1);
    expect(samplerOf(spec({ seed: 1 })).suggest(6, h)).not.toEqual(a);
  });

  it("applies a point to a trial's spec: model params, own fields, a seed point per replicate", () => {
    const base = TrialSpec.parse({
      sweep: 's',
      trial: 'a-0-r1',
      variant: 'a',
      model: 'cnn',
      dataset: 'file:///d',
      output: 'file:///o',
      epochs: 4,
      seed: 1,
      replicate: 1,
    });
    const t = withPoint(base, { learningRate: 0.01, batchSize: 16, seed: 5 });
    expect([t.params.learningRate, t.batchSize, t.replicate]).toEqual([0.01, 16, 1]);
    expect(t.seed).not.toBe(5); // replicate 1 of seed 5
  });
});

describe('bestVal', () => {
  it('keeps the best value of each epoch metric with its epoch (losses minimised); NaN never wins', () => {
    const e = (epoch: number, acc: number, loss: number) => ({
      epoch,
      valAccuracy: acc,
      valLoss: loss,
      accuracy: acc,
      loss,
    });
    let b = withEpoch(undefined, e(1, 0.5, 1));
    b = withEpoch(b, e(2, 0.7, 1.2));
    b = withEpoch(b, e(3, NaN, NaN));
    const acc = { epoch: 2, value: 0.7 };
    const loss = { epoch: 1, value: 1 };
    expect(b).toEqual({ valAccuracy: acc, valLoss: loss, accuracy: acc, loss });
  });
});

describe("the objective follows the report's selection rule", () => {
  it("search.metric, else the scheduler's metric, else valAccuracy", () => {
    const s = spec({
      scheduler: { policy: 'asha', metric: 'valLoss', mode: 'min', minEpochs: 1, reductionFactor: 3 },
    });
    expect(samplerOf(s).options.direction).toBe('minimize');
    const trials = records(s, {
      0: { phase: 'Succeeded', value: 0.7 },
      1: { phase: 'Running' },
      2: { phase: 'Running' },
    });
    expect(tpeHistory(s, trials, 3, true)![0]).toMatchObject({ state: 'complete', value: 1 - 0.7 });
    expect(samplerOf(spec()).options.direction).toBe('maximize');
  });
});
