import { describe, expect, it } from '@jest/globals';
import { expandTrials, SweepReport, SweepSpec, type SweepId, type TrialEvent } from '@fersweep/contracts';
import { SweepAggregator } from '../aggregator.js';
import {
  CNN_PREDICTIONS,
  event,
  evaluatedBody,
  handBuiltSweep,
  LABELS,
  MOBILENET_PREDICTIONS,
  sweepSpec,
} from '../testing/fixtures.js';
import { renderReportHtml } from '@fersweep/report';
import { buildReport } from './build.js';

const S = 'cmp' as SweepId;

function snapshotOf(events: readonly TrialEvent[], plan = true) {
  const a = new SweepAggregator(S);
  if (plan) {
    const spec = SweepSpec.parse(sweepSpec(S));
    a.setPlan(expandTrials(spec), spec.spec.retries);
  }
  for (const e of events) a.apply(e);
  return a.snapshot();
}

describe('buildReport', () => {
  it('ranks the trials and tests the pair with McNemar, exactly', () => {
    const report = buildReport(snapshotOf(handBuiltSweep(S)));
    expect(SweepReport.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      sweep: 'cmp',
      phase: 'Succeeded',
      expectedTrials: 2,
      trialCounts: { total: 2, pending: 0, running: 0, succeeded: 2, failed: 0 },
    });
    const c = report.comparison;
    expect(c).toMatchObject({ metric: 'test.accuracy', split: 'test', alpha: 0.05, correction: 'holm' });
    expect(c.ranking).toEqual(['cnn', 'mobilenet']);
    expect(c.excluded).toEqual([]);
    expect(c.pairs).toHaveLength(1);
    const pair = c.pairs[0]!;
    expect(pair).toMatchObject({
      a: 'cnn',
      b: 'mobilenet',
      method: 'exact',
      statistic: 0,
      onlyACorrect: 4,
      onlyBCorrect: 0,
      bothCorrect: 8,
      bothWrong: 2,
      significant: false,
    });
    expect(pair.mcnemarP).toBeCloseTo(0.125, 14);
    expect(pair.mcnemarPAdjusted).toBeCloseTo(0.125, 14);
    expect(pair.delta).toBeCloseTo(4 / 14, 14);
    expect(pair.accuracyDelta).toBeCloseTo(4 / 14, 14);
    const f1 = Object.fromEntries(pair.perClass.map((d) => [d.class, d.f1]));
    expect(f1.angry).toBeCloseTo(0.4, 12);
    expect(f1.disgust).toBeCloseTo(2 / 3, 12);
    expect(f1.fear).toBeCloseTo(2 / 3, 12);
    expect(f1.happy).toBeCloseTo(1 / 3, 12);
    expect(f1.sad).toBeCloseTo(0, 12);
    expect(f1.surprise).toBeCloseTo(0, 12);
    expect(f1.neutral).toBeCloseTo(3 / 7, 12);

    expect(report.verdict).toEqual({
      text:
        'cnn ranks first by test accuracy: 0.857 against 0.571 for mobilenet (+0.286); ' +
        "cnn's accuracy is 85.7% (95% CI 60.1%–96.0%). " +
        "McNemar's test on the 14 paired test images: p = 0.13 (4 images only cnn got right, 0 only mobilenet); " +
        'not significant at α = 0.05: these images do not show that cnn is better than mobilenet. ' +
        'Per-class F1: cnn is better on disgust (+0.667), fear (+0.667), neutral (+0.429).',
      best: 'cnn',
      runnerUp: 'mobilenet',
      significant: false,
      provisional: false,
      acrossSeeds: null,
    });
  });

  it('puts every ranked trial’s prediction of each sample image side by side', () => {
    const report = buildReport(snapshotOf(handBuiltSweep(S)));
    expect(report.samples!.split).toBe('test');
    expect(report.samples!.items.map((i) => [i.position, i.index, i.labelName])).toEqual([
      [0, 1000, 'angry'],
      [2, 1002, 'disgust'],
      [4, 1004, 'fear'],
    ]);
    expect(report.samples!.items[1]!.predictions).toEqual([
      { trial: 'cnn', predicted: 0, predictedName: 'angry', correct: false, probability: 0.7 },
      { trial: 'mobilenet', predicted: 0, predictedName: 'angry', correct: false, probability: 0.7 },
    ]);
    expect(report.samples!.items[0]!.predictions.map((p) => p.correct)).toEqual([true, true]);
  });

  it('ranks by another metric when asked', () => {
    const report = buildReport(snapshotOf(handBuiltSweep(S)), { metric: 'test.macroF1' });
    expect(report.comparison.ranking).toEqual(['cnn', 'mobilenet']);
    expect(report.comparison.pairs[0]!.delta).toBeCloseTo(0.8476190476190476 - 0.49115646258503404, 12);
    expect(report.verdict.text).toContain('ranks first by test macro F1: 0.848 against 0.491');
  });

  it('is provisional while the sweep runs, and says so when nothing is evaluated yet', () => {
    const events = handBuiltSweep(S);
    const running = buildReport(snapshotOf(events.slice(0, 11)));
    expect(running.phase).toBe('Running');
    expect(running.comparison.ranking).toEqual(['cnn']);
    expect(running.verdict.provisional).toBe(true);
    expect(running.verdict.text).toMatch(
      /^Provisional \(the sweep is still running\): cnn is the only trial evaluated/,
    );
    const none = buildReport(snapshotOf(events.slice(0, 3)));
    expect(none.verdict).toMatchObject({ best: null, significant: null });
    expect(none.verdict.text).toContain('no trial has been evaluated on the test split yet');
    expect(none.samples).toBeNull();
  });

  it('leaves out of the pairs a trial evaluated on other images', () => {
    const other = event(
      S,
      'other',
      'trial.evaluated',
      evaluatedBody('test', [...LABELS].reverse(), [...LABELS].reverse()),
    );
    const report = buildReport(snapshotOf([...handBuiltSweep(S), other], false));
    expect(report.comparison.ranking).toEqual(['other', 'cnn', 'mobilenet']);
    expect(report.comparison.excluded).toEqual([
      { trial: 'other', reason: expect.stringContaining("evaluated on other 'test' images") },
    ]);
    expect(report.comparison.pairs.map((p) => [p.a, p.b])).toEqual([['cnn', 'mobilenet']]);
    expect(report.verdict.text).toContain('other and cnn were not evaluated on the same images');
  });

  it('shows a trial the sweep scheduler stopped: its curve, Stopped at its rung, not ranked', () => {
    const curve = [1, 2].map((n) =>
      event(S, 'weak', 'trial.epoch', {
        epoch: n,
        loss: 1.8,
        accuracy: 0.2,
        valLoss: 1.9,
        valAccuracy: 0.18,
        learningRate: 0.001,
        imagesPerSecond: 10,
        seconds: 1,
      }),
    );
    const stop = event(S, 'weak', 'trial.stopped', {
      epoch: 2,
      rung: 2,
      threshold: 0.5,
      reason: 'valAccuracy 0.18 is outside the top 1/3 (cutoff 0.5) at epoch 2',
    });
    const report = buildReport(snapshotOf([...handBuiltSweep(S), ...curve, stop], false));
    expect(SweepReport.parse(report)).toEqual(report);
    expect(report.trialCounts).toMatchObject({ total: 3, succeeded: 2, stopped: 1, failed: 0, running: 0 });
    const weak = report.trials.find((t) => t.trial === 'weak')!;
    expect(weak).toMatchObject({ phase: 'Stopped', stopped: { epoch: 2, rung: 2, threshold: 0.5 } });
    expect(weak.history).toHaveLength(2);
    // Never evaluated on test: neither ranked nor paired (selection stays on the trials that finished).
    expect(report.comparison.ranking).toEqual(['cnn', 'mobilenet']);
    expect(report.comparison.excluded).toEqual([]);
    expect(report.comparison.pairs.map((p) => [p.a, p.b])).toEqual([['cnn', 'mobilenet']]);
    const html = renderReportHtml(report, { src: 'echarts.js' });
    expect(html).toContain(
      '<span class="phase Stopped" title="valAccuracy 0.18 is outside the top 1/3 (cutoff 0.5) at epoch 2">Stopped at rung 2</span>',
    );
    expect(html).toContain('2 succeeded, 1 stopped by the scheduler, 0 failed');
  });

  it('adjusts p-values over every pair (Holm) and keeps ranking order with integer-like trial ids', () => {
    const mk = (trial: string, predictions: number[]) =>
      event(S, trial, 'trial.evaluated', evaluatedBody('test', LABELS, predictions));
    const report = buildReport(
      snapshotOf([mk('10', CNN_PREDICTIONS), mk('2', MOBILENET_PREDICTIONS), mk('3', LABELS)], false),
    );
    expect(report.comparison.ranking).toEqual(['3', '10', '2']);
    expect(report.comparison.pairs.map((p) => [p.a, p.b])).toEqual([
      ['3', '10'],
      ['3', '2'],
      ['10', '2'],
    ]);
    for (const p of report.comparison.pairs) expect(p.delta).toBeGreaterThanOrEqual(0);
    // Raw p: 3 vs 10 → b=2,c=0 → 0.5; 3 vs 2 → b=6,c=0 → 2/64; 10 vs 2 → 0.125. Holm: sorted 1/32·3, 0.125·2, 0.5·1.
    expect(report.comparison.pairs.map((p) => p.mcnemarPAdjusted)).toEqual([0.5, 3 / 32, 0.25]);
    expect(report.verdict.text).toContain('0 of 3 pairs differ significantly');
  });
});
