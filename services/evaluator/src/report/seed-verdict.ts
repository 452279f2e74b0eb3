/**
 * The verdict of a sweep that selected (a search per variant, or seed replicates): which variant's
 * selected configuration wins on test, whether that holds across seeds, and McNemar's test of the
 * two selected configurations on the same test images.
 */
import {
  selectedConfiguration,
  type BudgetStatement,
  type Comparison,
  type SeedComparison,
  type Selection,
  type TrialId,
  type Verdict,
  type VariantReport,
} from '@fersweep/contracts';
import type { SeedMetric } from './variants.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pText = (p: number) => (p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

function summary(v: VariantReport, metric: SeedMetric): string {
  const s = metric === 'accuracy' ? v.testAccuracy : v.testMacroF1;
  if (!s) return 'not evaluated on test';
  const value = metric === 'accuracy' ? pct(s.mean) : s.mean.toFixed(3);
  if (s.lower === null || s.upper === null) return `${value} (one seed)`;
  const bound = (x: number) => (metric === 'accuracy' ? (x * 100).toFixed(1) : x.toFixed(3));
  return `${value} [${bound(s.lower)}, ${bound(s.upper)}] (mean over ${s.n} seeds, ${Math.round(s.confidence * 100)}% t-interval)`;
}

/** The first seed of a variant's selected configuration: the trial McNemar's test pairs. */
function firstRun(v: VariantReport): TrialId | null {
  return selectedConfiguration(v)?.runs.find((r) => r.testAccuracy !== null)?.trial ?? null;
}

/**
 * The variant-level verdict: selection statement, budget, the leader on test with its interval
 * across seeds, whether the ranking holds across seeds, and McNemar on the selected pair's images.
 * Undefined when fewer than two variants have a selected configuration evaluated on test.
 */
export function seedVerdict(input: {
  selection: Selection;
  budget: BudgetStatement | null;
  variants: readonly VariantReport[];
  seeds: SeedComparison | null;
  comparison: Comparison;
  provisional: boolean;
}): Verdict | undefined {
  const { selection, budget, variants, seeds, comparison, provisional } = input;
  const prefix = provisional ? 'Provisional (the sweep is still running): ' : '';
  if (!seeds || seeds.ranking.length < 2) {
    // One variant with a tested selection (a single-variant search, or the others not tested yet):
    // report its selected configuration, still without picking anything on test.
    const tested = variants.filter((v) => v.testAccuracy !== null);
    if (tested.length !== 1) return undefined;
    const only = tested[0]!;
    const others = variants.length > 1 ? ' No other variant has a selected configuration evaluated on test yet.' : '';
    return {
      text: `${prefix}${selection.statement} ${only.variant}'s selected configuration: test accuracy ${summary(only, 'accuracy')}.${others}`,
      best: firstRun(only),
      runnerUp: null,
      significant: null,
      provisional,
      acrossSeeds: null,
    };
  }
  const byName = new Map(variants.map((v) => [v.variant, v]));
  const leader = byName.get(seeds.ranking[0]!)!;
  const runner = byName.get(seeds.ranking[1]!)!;
  const what = seeds.metric === 'accuracy' ? 'test accuracy' : 'test macro F1';
  const parts = [
    selection.statement,
    ...(budget ? [budget.statement] : []),
    `${leader.variant} ranks first by ${what}: ${summary(leader, seeds.metric)} against ${summary(runner, seeds.metric)} for ${runner.variant}.`,
    `Across seeds: ${seeds.statement}`,
  ];
  const caveat = seeds.pairs[0]?.caveat;
  if (caveat) parts.push(caveat);
  const a = firstRun(leader);
  const b = firstRun(runner);
  const pair = comparison.pairs.find((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
  if (a && b && pair) {
    const n = pair.onlyACorrect + pair.onlyBCorrect + pair.bothCorrect + pair.bothWrong;
    parts.push(
      `McNemar's test of ${a} and ${b} on the same ${n} ${comparison.split} images: p = ${pText(pair.mcnemarP)}` +
        (comparison.pairs.length > 1
          ? ` (Holm-adjusted over all trial pairs p = ${pText(pair.mcnemarPAdjusted)})`
          : '') +
        (pair.significant
          ? `, significant at α = ${comparison.alpha}.`
          : `, not significant at α = ${comparison.alpha}.`),
    );
  }
  return {
    text: prefix + parts.join(' '),
    best: a,
    runnerUp: b,
    significant: pair ? pair.significant : null,
    provisional,
    acrossSeeds: seeds.holds,
  };
}
