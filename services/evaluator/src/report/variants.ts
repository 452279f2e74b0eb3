/**
 * The variant-level answer: each variant's trials grouped by configuration (same params) and seed
 * replicate, the configuration selected on validation (the sweep's search/scheduler metric) and
 * only reported on test, the budget each variant got, and the selected configurations compared
 * across seeds (paired by replicate). Pure: the same snapshot gives the same sections.
 */
import {
  DEFAULT_SELECTION,
  selectedConfiguration,
  type BudgetStatement,
  type ConfigurationReport,
  type ReplicateRun,
  type SeedComparison,
  type SeedInterval,
  type SeedPairComparison,
  type Selection,
  type SelectionRule,
  type TrialReport,
  type VariantReport,
} from '@fersweep/contracts';
import { pairedTTest, signTest, smallestRankTestP, tInterval, wilcoxonSignedRank } from '@fersweep/evaluation';

/** Confidence of the intervals across seeds. */
export const SEED_CONFIDENCE = 0.95;

/** The test metric variants are ranked and compared by across seeds. */
export type SeedMetric = 'accuracy' | 'macroF1';

const METRIC_WORDS: Record<SelectionRule['metric'], string> = {
  valAccuracy: 'val accuracy',
  valLoss: 'val loss',
  accuracy: 'training accuracy',
  loss: 'training loss',
};
const SEED_WORDS: Record<SeedMetric, string> = { accuracy: 'test accuracy', macroF1: 'test macro F1' };

/** JSON with object keys sorted at every level: equal params give equal keys, whatever their order. */
export function configurationKey(params: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return JSON.stringify(canonical(params));
}

/** A trial's objective: the selection metric at the epoch its model comes from. */
export function objectiveOf(t: TrialReport, rule: SelectionRule): number | null {
  return t.bestEpoch ? t.bestEpoch[rule.metric] : null;
}

/** What pairs two runs of different variants: the replicate index, else the seed, else nothing shared. */
export function replicateKey(run: Pick<ReplicateRun, 'replicate' | 'seed' | 'trial'>): string {
  if (run.replicate !== null) return `replicate ${run.replicate}`;
  if (run.seed !== null) return `seed ${run.seed}`;
  return `trial ${run.trial}`;
}

const better = (rule: SelectionRule, a: number, b: number) => (rule.mode === 'max' ? a > b : a < b);
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

function seedInterval(xs: readonly number[]): SeedInterval | null {
  if (xs.length === 0) return null;
  const r = tInterval(xs, SEED_CONFIDENCE);
  return { n: r.n, mean: r.mean, sd: r.sd, lower: r.lower, upper: r.upper, confidence: r.confidence, method: 't' };
}

function launchOrder(a: TrialReport, b: TrialReport): number {
  if (a.startedAt !== b.startedAt) {
    if (a.startedAt === null) return 1;
    if (b.startedAt === null) return -1;
    return a.startedAt < b.startedAt ? -1 : 1;
  }
  return a.trial < b.trial ? -1 : a.trial > b.trial ? 1 : 0;
}

function runOf(t: TrialReport, rule: SelectionRule): ReplicateRun {
  return {
    trial: t.trial,
    replicate: t.replicate,
    seed: t.seed,
    validation: objectiveOf(t, rule),
    testAccuracy: t.test?.accuracy ?? null,
    testMacroF1: t.test?.macroF1 ?? null,
  };
}

function variantReport(variant: string, trials: TrialReport[], rule: SelectionRule): VariantReport {
  const configs = new Map<string, { params: Record<string, unknown>; trials: TrialReport[] }>();
  for (const t of trials) {
    const key = configurationKey(t.params);
    const c = configs.get(key) ?? { params: t.params, trials: [] };
    c.trials.push(t);
    configs.set(key, c);
  }
  const configurations: ConfigurationReport[] = [...configs].map(([key, c]) => {
    const runs = c.trials
      .map((t) => runOf(t, rule))
      .sort(
        (a, b) =>
          (a.replicate ?? Infinity) - (b.replicate ?? Infinity) ||
          (a.seed ?? Infinity) - (b.seed ?? Infinity) ||
          (a.trial < b.trial ? -1 : 1),
      );
    const succeeded = c.trials.filter((t) => t.phase === 'Succeeded');
    const values = succeeded.map((t) => objectiveOf(t, rule)).filter((v): v is number => v !== null);
    return {
      key,
      params: c.params,
      runs,
      validation: values.length ? mean(values) : null,
      succeeded: succeeded.length,
    };
  });
  let selected: ConfigurationReport | undefined;
  for (const c of configurations)
    if (c.validation !== null && (selected === undefined || better(rule, c.validation, selected.validation!)))
      selected = c;
  const budgets = new Set(trials.map((t) => t.epochs));
  const [budget] = budgets;
  return {
    variant,
    model: trials.find((t) => t.model !== null)?.model ?? null,
    trials: trials.length,
    configurations,
    epochBudget: budgets.size === 1 && budget !== null && budget !== undefined ? budget : null,
    epochsSpent: trials.reduce((s, t) => s + (t.final?.epoch ?? 0), 0),
    stopped: trials.filter((t) => t.phase === 'Stopped').length,
    failed: trials.filter((t) => t.phase === 'Failed').length,
    selected: selected?.key ?? null,
    testAccuracy: seedInterval(selected?.runs.map((r) => r.testAccuracy).filter((v): v is number => v !== null) ?? []),
    testMacroF1: seedInterval(selected?.runs.map((r) => r.testMacroF1).filter((v): v is number => v !== null) ?? []),
    history: [...trials].sort(launchOrder).map((t) => ({ trial: t.trial, objective: objectiveOf(t, rule) })),
  };
}

/** Every variant's report, in order of its first trial id. */
export function variantReports(trials: readonly TrialReport[], rule: SelectionRule): VariantReport[] {
  const byVariant = new Map<string, TrialReport[]>();
  for (const t of trials) byVariant.set(t.variant, [...(byVariant.get(t.variant) ?? []), t]);
  return [...byVariant].map(([variant, ts]) => variantReport(variant, ts, rule));
}

/** The selection rule in words: what was selected on, and that test only reports. */
export function selectionOf(rule: SelectionRule | null): Selection {
  const r = rule ?? DEFAULT_SELECTION;
  const on = r.metric.startsWith('val')
    ? 'validation'
    : `training data (${METRIC_WORDS[r.metric]}, not a validation metric)`;
  const from =
    r.source === 'default'
      ? 'the default'
      : r.source === 'search'
        ? "the sweep's search metric"
        : "the sweep's scheduler metric";
  return {
    ...r,
    statement:
      `Selected on ${on}, reported on test; no selection on test: each variant's configuration is the one with the ` +
      `${r.mode === 'max' ? 'highest' : 'lowest'} mean ${METRIC_WORDS[r.metric]} over its seeds (${from}), ` +
      'taken at the epoch its model comes from; its test numbers are only reported.',
  };
}

/** Same trials and epochs per trial for every variant? In words, with the epochs each one spent. */
export function budgetOf(variants: readonly VariantReport[]): BudgetStatement | null {
  if (variants.length === 0) return null;
  const counts = new Set(variants.map((v) => v.trials));
  const budgets = new Set(variants.map((v) => v.epochBudget));
  const equal = counts.size === 1 && budgets.size === 1 && !budgets.has(null);
  const spent = variants
    .map((v) => `${v.variant} ${v.epochsSpent}${v.stopped ? ` (${v.stopped} trials stopped early)` : ''}`)
    .join(', ');
  const statement = equal
    ? `Equal budgets: every variant ran ${variants[0]!.trials} trial${variants[0]!.trials === 1 ? '' : 's'} with a budget of ${variants[0]!.epochBudget} epochs each; epochs actually trained (stopped trials included): ${spent}.`
    : `Unequal budgets: ${variants.map((v) => `${v.variant} ran ${v.trials} trials of ${v.epochBudget ?? 'mixed'} epochs`).join(', ')}; ` +
      `the comparison is not at equal budget. Epochs actually trained: ${spent}.`;
  return { equal, statement };
}

const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;
const interval = (i: SeedInterval) =>
  i.lower === null || i.upper === null ? '' : ` [${(i.lower * 100).toFixed(1)}, ${(i.upper * 100).toFixed(1)}]`;
/** A p-value for people: two significant digits, scientific below 0.001. */
const pText = (p: number) => (p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

function pairOf(a: VariantReport, b: VariantReport, metric: SeedMetric, alpha: number): SeedPairComparison {
  const pick = (r: ReplicateRun) => (metric === 'accuracy' ? r.testAccuracy : r.testMacroF1);
  const runsB = new Map((selectedConfiguration(b)?.runs ?? []).map((r) => [replicateKey(r), r]));
  const differences = (selectedConfiguration(a)?.runs ?? []).flatMap((ra) => {
    const rb = runsB.get(replicateKey(ra));
    const va = pick(ra);
    const vb = rb ? pick(rb) : null;
    return rb && va !== null && vb !== null
      ? [{ replicate: replicateKey(ra), a: ra.trial, b: rb.trial, difference: va - vb }]
      : [];
  });
  const d = differences.map((x) => x.difference);
  const n = d.length;
  const t = n > 0 ? pairedTTest(d, new Array<number>(n).fill(0), SEED_CONFIDENCE) : undefined;
  const sign = signTest(d);
  const caveat =
    n < 2
      ? `With ${n === 0 ? 'no seed' : 'one seed'} shared by ${a.variant} and ${b.variant} there is no spread across seeds: no interval and no paired test (run the sweep with replicates ≥ 2).`
      : smallestRankTestP(n) > alpha
        ? `With ${n} seeds the exact sign and Wilcoxon signed-rank tests cannot reach p < ${alpha} whatever the data (their smallest two-sided p is ${pText(smallestRankTestP(n))}), and the paired t-test's normality cannot be checked; more seeds make the comparison sturdier.`
        : null;
  return {
    a: a.variant,
    b: b.variant,
    metric,
    differences,
    meanDifference: {
      n,
      mean: t?.mean ?? 0,
      sd: t?.sd ?? null,
      lower: t?.lower ?? null,
      upper: t?.upper ?? null,
      confidence: SEED_CONFIDENCE,
      method: 't',
    },
    tStatistic:
      t?.statistic === undefined || t.statistic === null || !Number.isFinite(t.statistic) ? null : t.statistic,
    pValue: t?.pValue ?? null,
    aAhead: sign.positive,
    bAhead: sign.negative,
    ties: n - sign.positive - sign.negative,
    signP: sign.pValue,
    wilcoxonP: wilcoxonSignedRank(d)?.pValue ?? null,
    caveat,
  };
}

/** Whether the leader's lead holds in every paired seed (≥ 2 of them); null without enough pairs. */
function holdsOf(pair: SeedPairComparison | undefined): boolean | null {
  if (!pair || pair.meanDifference.n < 2) return null;
  return pair.aAhead === pair.meanDifference.n;
}

/** One sentence on whether the ranking holds across seeds, e.g. "cnn ahead in 5 of 5 seeds, …". */
export function acrossSeedsSentence(pair: SeedPairComparison): string {
  const n = pair.meanDifference.n;
  const what = SEED_WORDS[pair.metric];
  if (n === 0) return `${pair.a} and ${pair.b} share no seed replicate with ${what}: no paired comparison.`;
  if (n === 1)
    return `${pair.a} ahead of ${pair.b} on the one seed both ran (${points(pair.meanDifference.mean)} points of ${what}); one seed cannot show whether the ranking holds across seeds.`;
  const p = pair.pValue === null ? '' : `, paired t-test p = ${pText(pair.pValue)}`;
  const holds = pair.aAhead === n;
  return (
    `${pair.a} ahead of ${pair.b} in ${pair.aAhead} of ${n} seeds, mean ${points(pair.meanDifference.mean)} points${interval(pair.meanDifference)} of ${what}${p}: ` +
    (holds
      ? 'the ranking holds across seeds.'
      : `the ranking does not hold across seeds (${pair.b} ahead in ${pair.bAhead}${pair.ties ? `, ${pair.ties} tied` : ''}).`)
  );
}

/** Variants ranked by their selected configuration's mean test metric; the leader paired with each other. */
export function seedComparisonOf(
  variants: readonly VariantReport[],
  metric: SeedMetric,
  alpha: number,
): SeedComparison | null {
  const summary = (v: VariantReport) => (metric === 'accuracy' ? v.testAccuracy : v.testMacroF1);
  const ranked = variants
    .filter((v) => summary(v) !== null)
    .sort((a, b) => summary(b)!.mean - summary(a)!.mean || (a.variant < b.variant ? -1 : 1));
  if (ranked.length < 2) return null;
  const pairs = ranked.slice(1).map((b) => pairOf(ranked[0]!, b, metric, alpha));
  return {
    metric,
    ranking: ranked.map((v) => v.variant),
    pairs,
    holds: holdsOf(pairs[0]),
    statement: acrossSeedsSentence(pairs[0]!),
  };
}
