import { describe, expect, it } from '@jest/globals';
import {
  selectionRuleOf,
  SweepReport,
  type SelectionRule,
  type SweepId,
  type SweepReport as Report,
} from '@fersweep/contracts';
import { SweepAggregator } from '../aggregator.js';
import { replicateSweep, type ReplicateSweepOptions } from '../testing/replicates.js';
import { buildReport } from './build.js';
import { renderFigures } from '@fersweep/report';
import { configurationKey } from './variants.js';

const S = 'seeds' as SweepId;

function reportOf(options: ReplicateSweepOptions = {}, selection: SelectionRule | null = null): Report {
  const a = new SweepAggregator(S);
  if (selection) a.setPlan([], 3, selection);
  for (const e of replicateSweep(S, options)) a.apply(e);
  a.finalize();
  const report = buildReport(a.snapshot());
  expect(SweepReport.parse(report)).toEqual(report);
  return report;
}

const variant = (r: Report, name: string) => r.variants.find((v) => v.variant === name)!;
const LR_01 = configurationKey({ width: 32, learningRate: 0.01 });
const LR_001 = configurationKey({ learningRate: 0.001, width: 32 });

describe('variant sections of the report (fersweep/v2)', () => {
  it('groups each variant’s trials by configuration (params, seed excluded) and replicate', () => {
    const r = reportOf();
    expect(r.apiVersion).toBe('fersweep/v2');
    expect(r.variants.map((v) => v.variant)).toEqual(['cnn', 'mobilenet']);
    const cnn = variant(r, 'cnn');
    expect(cnn.trials).toBe(10);
    expect(cnn.configurations.map((c) => c.key)).toEqual([LR_01, LR_001]);
    expect(cnn.configurations[0]!.runs.map((x) => [x.trial, x.replicate, x.seed])).toEqual([
      ['cnn-0-r0', 0, 42],
      ['cnn-0-r1', 1, 43],
      ['cnn-0-r2', 2, 44],
      ['cnn-0-r3', 3, 45],
      ['cnn-0-r4', 4, 46],
    ]);
    expect(r.trials.find((t) => t.trial === 'cnn-0-r3')).toMatchObject({ seed: 45, replicate: 3 });
  });

  it('selects on validation and only reports test: the configuration better on test is not picked', () => {
    const r = reportOf();
    const cnn = variant(r, 'cnn');
    expect(cnn.configurations.map((c) => c.validation)).toEqual([0.62, 0.55]);
    expect(cnn.selected).toBe(LR_01);
    // lr 0.001 has 70.4% mean test accuracy; the selected lr 0.01 has 65.2%.
    expect(cnn.testAccuracy!.mean).toBeCloseTo(0.652, 12);
    expect(r.selection).toMatchObject({ metric: 'valAccuracy', mode: 'max', source: 'default' });
    expect(r.selection!.statement).toMatch(/^Selected on validation, reported on test; no selection on test: /);
    expect(r.verdict.text).toContain('Selected on validation, reported on test; no selection on test');
  });

  it('gives the mean and 95% t-interval across seeds, as by hand and scipy', () => {
    const cnn = variant(reportOf(), 'cnn').testAccuracy!;
    // By hand: mean 0.652; squared deviations sum to 6.8e-4, sd = √(6.8e-4 / 4) = 0.0130384;
    // half-width t(0.975, 4)·sd/√5 = 2.776445 · 0.0058310 = 0.0161893.
    // scipy: stats.t.interval(0.95, 4, loc=0.652, scale=stats.sem(x)) = (0.6358106821529129, 0.6681893178470871)
    expect(cnn).toMatchObject({ n: 5, confidence: 0.95, method: 't' });
    expect(cnn.sd).toBeCloseTo(0.0130384, 6);
    expect(cnn.lower).toBeCloseTo(0.6358106821529129, 12);
    expect(cnn.upper).toBeCloseTo(0.6681893178470871, 12);
  });

  it('leaves stopped configurations out of the selection but counts their epochs in the budget', () => {
    const r = reportOf();
    const m = variant(r, 'mobilenet');
    expect(m.configurations.map((c) => [c.validation, c.succeeded])).toEqual([
      [null, 0],
      [0.45, 5],
    ]);
    expect(m.selected).toBe(LR_001);
    expect(m).toMatchObject({ trials: 10, epochBudget: 3, epochsSpent: 5 * 3 + 5 * 1, stopped: 5, failed: 0 });
    expect(variant(r, 'cnn')).toMatchObject({ epochBudget: 3, epochsSpent: 30, stopped: 0 });
    expect(r.budget).toEqual({
      equal: true,
      statement:
        'Equal budgets: every variant ran 10 trials with a budget of 3 epochs each; epochs actually trained ' +
        '(stopped trials included): cnn 30, mobilenet 20 (5 trials stopped early).',
    });
  });

  it('compares the selected configurations paired by replicate (mean difference, t-interval, paired t-test)', () => {
    const s = reportOf().seeds!;
    expect(s.ranking).toEqual(['cnn', 'mobilenet']);
    expect(s.holds).toBe(true);
    const p = s.pairs[0]!;
    expect(p.differences.map((d) => [d.replicate, d.a, d.b])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`replicate ${i}`, `cnn-0-r${i}`, `mobilenet-1-r${i}`]),
    );
    // scipy: d = [.21 .19 .24 .20 .20]; ttest_rel → t = 24.179508858714392, p = 1.7355027790962042e-05;
    // t.interval(0.95, 4, loc=0.208, scale=sem(d)) = (0.18411611611900014, 0.2318838838809999); wilcoxon exact p = 0.0625.
    expect(p.meanDifference.mean).toBeCloseTo(0.208, 12);
    expect(p.meanDifference.lower).toBeCloseTo(0.18411611611900014, 12);
    expect(p.meanDifference.upper).toBeCloseTo(0.2318838838809999, 12);
    expect(p.tStatistic).toBeCloseTo(24.179508858714392, 8);
    expect(p.pValue! / 1.7355027790962042e-5).toBeCloseTo(1, 6);
    expect(p).toMatchObject({ aAhead: 5, bAhead: 0, ties: 0, signP: 0.0625, wilcoxonP: 0.0625 });
    expect(p.caveat).toMatch(/With 5 seeds the exact sign and Wilcoxon signed-rank tests cannot reach p < 0.05/);
  });

  it('says in the verdict that the ranking holds across seeds, with McNemar on the selected pair', () => {
    const v = reportOf().verdict;
    expect(v.text).toContain(
      'Across seeds: cnn ahead of mobilenet in 5 of 5 seeds, mean +20.8 points [18.4, 23.2] of test accuracy, ' +
        'paired t-test p = 1.7e-5: the ranking holds across seeds.',
    );
    expect(v.text).toContain(
      'cnn ranks first by test accuracy: 65.2% [63.6, 66.8] (mean over 5 seeds, 95% t-interval) against ' +
        '44.4% [43.0, 45.8] (mean over 5 seeds, 95% t-interval) for mobilenet.',
    );
    expect(v.text).toMatch(/McNemar's test of cnn-0-r0 and mobilenet-1-r0 on the same 100 test images: p = /);
    expect(v.text).toContain('Equal budgets: every variant ran 10 trials');
    expect(v).toMatchObject({ best: 'cnn-0-r0', runnerUp: 'mobilenet-1-r0', acrossSeeds: true, provisional: false });
  });

  it('says when the ranking does not hold across seeds', () => {
    const r = reportOf({ cnnSelected: [65, 40, 67, 66, 64] });
    expect(r.seeds!.holds).toBe(false);
    expect(r.verdict.acrossSeeds).toBe(false);
    expect(r.verdict.text).toContain(
      'cnn ahead of mobilenet in 4 of 5 seeds, mean +16.0 points [1.3, 30.7] of test accuracy, paired t-test p = 0.039: ' +
        'the ranking does not hold across seeds (mobilenet ahead in 1).',
    );
  });

  it('with one seed: no interval, no paired test, and says why', () => {
    const r = reportOf({ k: 1 });
    expect(variant(r, 'cnn').testAccuracy).toEqual({
      n: 1,
      mean: 0.65,
      sd: null,
      lower: null,
      upper: null,
      confidence: 0.95,
      method: 't',
    });
    const p = r.seeds!.pairs[0]!;
    expect(p).toMatchObject({ pValue: null, tStatistic: null, wilcoxonP: 0.5 * 2 });
    expect(p.meanDifference).toMatchObject({ n: 1, lower: null, upper: null });
    expect(r.seeds!.holds).toBeNull();
    expect(r.verdict.acrossSeeds).toBeNull();
    expect(r.verdict.text).toContain('65.0% (one seed)');
    expect(r.verdict.text).toContain('one seed cannot show whether the ranking holds across seeds');
    expect(r.verdict.text).toContain('run the sweep with replicates ≥ 2');
  });

  it('pairs runs by seed when the sweep has no replicate field (seed as a search parameter)', () => {
    const p = reportOf({ k: 3, noReplicateField: true }).seeds!.pairs[0]!;
    expect(p.differences.map((d) => d.replicate)).toEqual(['seed 42', 'seed 43', 'seed 44']);
    expect(p.caveat).toMatch(/With 3 seeds/);
  });

  it('selects by the sweep’s scheduler metric and mode (val loss, min)', () => {
    const rule = selectionRuleOf({ scheduler: { metric: 'valLoss', mode: 'min' } });
    expect(rule).toEqual({ metric: 'valLoss', mode: 'min', source: 'scheduler' });
    const r = reportOf({}, rule);
    const cnn = variant(r, 'cnn');
    expect(cnn.configurations.map((c) => c.validation)).toEqual(
      [1.5 - 0.62, 1.5 - 0.55].map((x) => expect.closeTo(x, 12)),
    );
    expect(cnn.selected).toBe(LR_01);
    expect(r.selection!.statement).toContain("lowest mean val loss over its seeds (the sweep's scheduler metric)");
  });

  it('with a single variant, reports its selected configuration on test, never the trial best on test', () => {
    const a = new SweepAggregator(S);
    for (const e of replicateSweep(S, { k: 2 }).filter((e) => e.variant === 'cnn')) a.apply(e);
    a.finalize();
    const r = buildReport(a.snapshot());
    expect(r.seeds).toBeNull();
    expect(r.verdict).toMatchObject({ best: 'cnn-0-r0', runnerUp: null, acrossSeeds: null });
    expect(r.verdict.text).toMatch(/^Selected on validation, reported on test; no selection on test: /);
    expect(r.verdict.text).toContain("cnn's selected configuration: test accuracy 64.5% [");
    // The trial best on test (cnn-1-r1, 71%) is not the answer.
    expect(r.comparison.ranking[0]).toBe('cnn-1-r1');
    expect(r.verdict.text).not.toContain('cnn-1-r1');
  });

  it('records the search history in launch order with each trial’s objective', () => {
    const h = variant(reportOf({ k: 2 }), 'cnn').history;
    expect(h.map((x) => x.trial)).toEqual(['cnn-0-r0', 'cnn-1-r0', 'cnn-0-r1', 'cnn-1-r1']);
    expect(h.map((x) => x.objective)).toEqual([0.62, 0.55, 0.62, 0.55]);
  });
});

describe('selectionRuleOf', () => {
  it('prefers the search metric, then the scheduler’s, then val accuracy', () => {
    expect(selectionRuleOf({})).toEqual({ metric: 'valAccuracy', mode: 'max', source: 'default' });
    expect(
      selectionRuleOf({ search: { metric: 'valLoss' }, scheduler: { metric: 'valAccuracy', mode: 'max' } }),
    ).toEqual({
      metric: 'valLoss',
      mode: 'min',
      source: 'search',
    });
    expect(selectionRuleOf({ scheduler: { metric: 'valAccuracy', mode: 'max' } }).source).toBe('scheduler');
  });
});

describe('variant figures as PNG (server-side ECharts)', () => {
  it('renders the seed strip, the validation curves and the search history beside the other figures', async () => {
    const figures = await renderFigures(reportOf({ k: 3 }));
    const names = figures.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['seed-strip.png', 'validation-curves.png', 'search-history.png']));
    for (const f of figures.filter((x) => !x.name.startsWith('confusion-')))
      expect(f.png.subarray(1, 4).toString('latin1')).toBe('PNG');
  }, 60_000);
});
