import { describe, expect, it } from '@jest/globals';
import { EMOTIONS, eventId, type SweepId, type TrialEvent } from '@fersweep/contracts';
import { buildReport, SweepAggregator } from '@fersweep/evaluator';
import { comparisonText } from './commands/run.js';
import { variantsText } from './variants-text.js';

const SWEEP = 'cli-seeds';
let second = 0;

function ev(trial: string, variant: string, body: Record<string, unknown>): TrialEvent {
  second++;
  const e = {
    sweep: SWEEP,
    trial,
    variant,
    attempt: 1,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, second)).toISOString(),
    ...body,
  };
  return { ...e, id: eventId(e as unknown as Parameters<typeof eventId>[0]) } as unknown as TrialEvent;
}

/** 70 test images, 10 per emotion; `correct` of them right (spread over the emotions), the rest one emotion off. */
function evaluated(correct: number): Record<string, unknown> {
  const cm = EMOTIONS.map((_, i) => {
    const row = new Array<number>(EMOTIONS.length).fill(0);
    const right = Math.floor(correct / EMOTIONS.length) + (i < correct % EMOTIONS.length ? 1 : 0);
    row[i] = right;
    row[(i + 1) % EMOTIONS.length] = 10 - right;
    return row;
  });
  const perClass = EMOTIONS.map((c) => ({ class: c, precision: 0, recall: 0, f1: 0, support: 10 }));
  return {
    type: 'trial.evaluated',
    split: 'test',
    accuracy: correct / 70,
    macroF1: 0,
    weightedF1: 0,
    loss: 1,
    confusionMatrix: cm,
    perClass,
    labels: [],
    predictions: [],
    samples: [],
  };
}

function trial(
  id: string,
  variant: string,
  r: number,
  lr: number,
  val: number,
  correct: number | 'stopped',
): TrialEvent[] {
  const epoch = (n: number) =>
    ev(id, variant, {
      type: 'trial.epoch',
      epoch: n,
      loss: 1,
      accuracy: val,
      valLoss: 1,
      valAccuracy: val,
      learningRate: lr,
      imagesPerSecond: 1,
      seconds: 1,
    });
  const started = ev(id, variant, {
    type: 'trial.started',
    model: variant,
    params: { learningRate: lr },
    epochs: 4,
    backend: 'cpu',
    device: 'cpu',
    datasetSha256: 'f'.repeat(64),
    trainImages: 10,
    parameterCount: 10,
    resumedFromEpoch: 0,
    seed: 7 + r,
    replicate: r,
  });
  if (correct === 'stopped')
    return [
      started,
      epoch(1),
      ev(id, variant, { type: 'trial.stopped', epoch: 1, rung: 1, threshold: 0.5, reason: 'asha' }),
    ];
  return [
    started,
    epoch(1),
    epoch(2),
    epoch(3),
    epoch(4),
    ev(id, variant, evaluated(correct)),
    ev(id, variant, {
      type: 'trial.completed',
      epochs: 4,
      bestEpoch: 4,
      stoppedEarly: false,
      modelUri: 'file:///m/',
      seconds: 4,
    }),
  ];
}

function report() {
  const a = new SweepAggregator(SWEEP as SweepId);
  const events = [0, 1, 2].flatMap((r) => [
    ...trial(`cnn-a-r${r}`, 'cnn', r, 0.01, 0.6, [49, 50, 51][r]!),
    ...trial(`cnn-b-r${r}`, 'cnn', r, 0.001, 0.3, 'stopped'),
    ...trial(`mlp-a-r${r}`, 'mlp', r, 0.01, 0.5, [35, 42, 36][r]!),
    ...trial(`mlp-b-r${r}`, 'mlp', r, 0.001, 0.4, [30, 31, 32][r]!),
  ]);
  for (const e of events) expect(a.apply(e).invalid).toBeUndefined();
  a.finalize();
  return buildReport(a.snapshot());
}

describe('variantsText', () => {
  it('prints the selection, the budgets, each selected configuration across seeds and whether the ranking holds', () => {
    const text = variantsText(report());
    expect(text).toContain('Selected on validation, reported on test; no selection on test');
    expect(text).toContain('Equal budgets: every variant ran 6 trials with a budget of 4 epochs each');
    expect(text).toContain('cnn 15 (3 trials stopped early), mlp 24');
    // cnn: 49, 50, 51 of 70 → mean 71.4%; t(0.975, 2) = 4.302653, sd = 1/70 → half-width 3.55 points.
    expect(text).toMatch(/cnn +6 +2 +15 of 24 +3 +learningRate=0\.01 +3 +71\.4% \[67\.9%, 75\.0%\]/);
    // scipy: differences 14, 8, 15 of 70 → t.interval(0.95, 2) = (0.0418, 0.3105), ttest_rel p = 0.030003.
    expect(text).toContain(
      'Across seeds: cnn ahead of mlp in 3 of 3 seeds, mean +17.6 points [4.2, 31.1] of test accuracy, paired t-test p = 0.030: the ranking holds across seeds.',
    );
  });

  it('is part of the comparison the CLI prints, which shows stopped trials with their rung', () => {
    const text = comparisonText(report());
    expect(text).toMatch(/cnn-b-r0 +cnn +Stopped at rung 1/);
    expect(text).toContain('Across seeds: cnn ahead of mlp in 3 of 3 seeds');
  });

  it('prints nothing for a report without selection (one trial per variant)', () => {
    const r = report();
    expect(variantsText({ ...r, variants: r.variants.map((v) => ({ ...v, trials: 1 })) })).toBe('');
    expect(variantsText({ ...r, variants: [] })).toBe('');
  });
});
