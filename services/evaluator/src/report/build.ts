/**
 * From a sweep's aggregate to its answer: ranking by a chosen metric, McNemar's test on every pair
 * of trials evaluated on the same images (Holm-adjusted), per-class deltas, the sample grid and the
 * verdict. Pure: the same snapshot gives the same report.
 */
import {
  DEFAULT_SELECTION,
  hasSelection,
  REPORT_API_VERSION,
  type ClassDelta,
  type Comparison,
  type EvaluatedSplit,
  type PairComparison,
  type RankMetric,
  type SampleGrid,
  type SweepReport,
  type TrialId,
  type TrialReport,
  type Verdict,
} from '@fersweep/contracts';
import { pairwiseComparisons } from '@fersweep/evaluation';
import { formatP, metricValue, parseMetric, type MetricField } from '@fersweep/report';
import type { PairedPredictions, SweepSnapshot } from '../aggregator.js';
import { seedVerdict } from './seed-verdict.js';
import { budgetOf, seedComparisonOf, selectionOf, variantReports } from './variants.js';

/** How a report ranks and tests. */
export interface ReportOptions {
  /** Default `test.accuracy`. */
  metric?: RankMetric;
  /** Family-wise error rate of the pairwise McNemar tests. Default 0.05. */
  alpha?: number;
  /** Most images in the sample grid. Default 35 (five per emotion). */
  maxSamples?: number;
}

const FIELD_LABEL: Record<MetricField, string> = {
  accuracy: 'accuracy',
  macroF1: 'macro F1',
  weightedF1: 'weighted F1',
};

function sameSequence(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function classDeltas(a: TrialReport, b: TrialReport, split: EvaluatedSplit): ClassDelta[] {
  const pa = a.splits[split]?.perClass ?? [];
  const pb = b.splits[split]?.perClass ?? [];
  return pa.map((ca, i) => {
    const cb = pb[i];
    return {
      class: ca.class,
      precision: ca.precision - (cb?.precision ?? 0),
      recall: ca.recall - (cb?.recall ?? 0),
      f1: ca.f1 - (cb?.f1 ?? 0),
    };
  });
}

/** Ranking and pairwise tests of the trials evaluated on the metric's split. */
export function compareTrials(snapshot: SweepSnapshot, metric: RankMetric, alpha: number): Comparison {
  const { split } = parseMetric(metric);
  const byId = new Map(snapshot.trials.map((t) => [t.trial as string, t]));
  const ranked = snapshot.trials
    .filter((t) => metricValue(t, metric) !== undefined)
    .sort((a, b) => metricValue(b, metric)! - metricValue(a, metric)! || (a.trial < b.trial ? -1 : 1));
  const paired = (t: TrialReport): PairedPredictions | undefined => snapshot.predictions.get(t.trial)?.[split];
  // McNemar needs the same images in the same order: pair the trials that share the label sequence
  // most of them share (ties: the one of the best-ranked trial).
  const groups = new Map<string, { labels: readonly number[]; count: number }>();
  for (const t of ranked) {
    const p = paired(t);
    if (!p || p.labels.length === 0) continue;
    const key = p.labels.join(',');
    const group = groups.get(key) ?? { labels: p.labels, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  const reference = [...groups.values()].reduce<{ labels: readonly number[]; count: number } | undefined>(
    (best, g) => (best === undefined || g.count > best.count ? g : best),
    undefined,
  );
  const excluded: Comparison['excluded'] = [];
  const comparable: TrialReport[] = [];
  for (const t of ranked) {
    const p = paired(t);
    if (!reference || !p || p.labels.length === 0)
      excluded.push({ trial: t.trial, reason: `published no per-image predictions for '${split}'` });
    else if (!sameSequence(p.labels, reference.labels))
      excluded.push({
        trial: t.trial,
        reason:
          p.labels.length === reference.labels.length
            ? `evaluated on other '${split}' images (its labels differ from those of the paired trials)`
            : `evaluated on other '${split}' images (${p.labels.length}, not the ${reference.labels.length} of the paired trials)`,
      });
    else comparable.push(t);
  }
  const pairs: PairComparison[] = [];
  if (reference && comparable.length >= 2) {
    // Keys keep insertion (ranking) order only when none looks like an integer: prefix them.
    const predictions: Record<string, readonly number[]> = {};
    for (const t of comparable) predictions[`t:${t.trial}`] = paired(t)!.predictions;
    for (const r of pairwiseComparisons(reference.labels, predictions, alpha)) {
      const a = byId.get(r.trialA.slice(2))!;
      const b = byId.get(r.trialB.slice(2))!;
      pairs.push({
        a: a.trial,
        b: b.trial,
        delta: metricValue(a, metric)! - metricValue(b, metric)!,
        accuracyDelta: r.delta,
        mcnemarP: r.pValue,
        mcnemarPAdjusted: r.pAdjusted,
        significant: r.significant,
        method: r.method,
        statistic: r.statistic,
        onlyACorrect: r.n10,
        onlyBCorrect: r.n01,
        bothCorrect: r.n11,
        bothWrong: r.n00,
        perClass: classDeltas(a, b, split),
      });
    }
  }
  return {
    metric,
    split,
    alpha,
    correction: 'holm',
    ranking: ranked.map((t) => t.trial),
    pairs,
    excluded,
  };
}

/**
 * The sample grid on the comparison split: the images the trainers published predictions for (the
 * union over the ranked trials, by position), each with every paired trial's prediction. Images
 * are attached later (`attachSampleImages`): reading them is I/O.
 */
export function sampleGrid(
  snapshot: SweepSnapshot,
  comparison: Comparison,
  classes: readonly string[],
  maxSamples: number,
): SampleGrid | null {
  const { split } = comparison;
  const excluded = new Set(comparison.excluded.map((e) => e.trial as string));
  const trials = comparison.ranking
    .filter((t) => !excluded.has(t))
    .map((t) => snapshot.trials.find((r) => r.trial === t)!);
  const positions = new Map<number, number>(); // position → index in the source
  for (const t of trials) for (const s of t.splits[split]?.samples ?? []) positions.set(s.position, s.index);
  if (trials.length === 0 || positions.size === 0) return null;
  const name = (label: number) => classes[label] ?? String(label);
  const items = [...positions.entries()]
    .sort((a, b) => a[0] - b[0])
    .slice(0, maxSamples)
    .flatMap(([position, index]) => {
      const label = snapshot.predictions.get(trials[0]!.trial)?.[split]?.labels[position];
      if (label === undefined) return [];
      return [
        {
          position,
          index,
          label,
          labelName: name(label),
          predictions: trials.map((t) => {
            const predicted = snapshot.predictions.get(t.trial)![split]!.predictions[position]!;
            const own = t.splits[split]?.samples.find((s) => s.position === position);
            return {
              trial: t.trial,
              predicted,
              predictedName: name(predicted),
              correct: predicted === label,
              probability: own ? (own.probabilities[predicted] ?? null) : null,
            };
          }),
        },
      ];
    });
  return items.length ? { split, items } : null;
}

const fixed = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

function who(t: TrialReport): string {
  return t.variant === t.trial ? t.trial : `${t.trial} (${t.variant})`;
}

/** The answer in words: who wins, by how much, how sure, and on which emotions. */
export function verdictOf(snapshot: SweepSnapshot, comparison: Comparison): Verdict {
  const { metric, split, ranking, pairs, alpha } = comparison;
  const { field } = parseMetric(metric);
  const label = `${split} ${FIELD_LABEL[field]}`;
  const find = (id: TrialId) => snapshot.trials.find((t) => t.trial === id)!;
  const provisional = !snapshot.ended;
  const prefix = provisional ? 'Provisional (the sweep is still running): ' : '';
  const base = { provisional, acrossSeeds: null };
  if (ranking.length === 0)
    return {
      ...base,
      text: `${prefix}no trial has been evaluated on the ${split} split yet.`,
      best: null,
      runnerUp: null,
      significant: null,
    };
  const best = find(ranking[0]!);
  const bestSplit = best.splits[split]!;
  const ci = `95% CI ${percent(bestSplit.accuracyInterval.lower)}–${percent(bestSplit.accuracyInterval.upper)}`;
  if (ranking.length === 1)
    return {
      ...base,
      text: `${prefix}${who(best)} is the only trial evaluated on the ${split} split: ${label} ${fixed(metricValue(best, metric)!)}, accuracy ${percent(bestSplit.accuracy)} (${ci}).`,
      best: best.trial,
      runnerUp: null,
      significant: null,
    };
  const runner = find(ranking[1]!);
  const vBest = metricValue(best, metric)!;
  const vRunner = metricValue(runner, metric)!;
  const parts = [
    `${who(best)} ranks first by ${label}: ${fixed(vBest)} against ${fixed(vRunner)} for ${who(runner)} (${signed(vBest - vRunner)}); ` +
      `${who(best)}'s accuracy is ${percent(bestSplit.accuracy)} (${ci}).`,
  ];
  const pair = pairs.find((p) => p.a === best.trial && p.b === runner.trial);
  if (pair) {
    const n = pair.onlyACorrect + pair.onlyBCorrect + pair.bothCorrect + pair.bothWrong;
    const adjusted = pairs.length > 1 ? `, Holm-adjusted p = ${formatP(pair.mcnemarPAdjusted)}` : '';
    parts.push(
      `McNemar's test on the ${n} paired ${split} images: p = ${formatP(pair.mcnemarP)}${adjusted} ` +
        `(${pair.onlyACorrect} images only ${best.trial} got right, ${pair.onlyBCorrect} only ${runner.trial}); ` +
        (pair.significant
          ? `the difference is significant at α = ${alpha}.`
          : `not significant at α = ${alpha}: these images do not show that ${best.trial} is better than ${runner.trial}.`),
    );
    const gains = pair.perClass.filter((c) => c.f1 > 0.0005).sort((a, b) => b.f1 - a.f1);
    const losses = pair.perClass.filter((c) => c.f1 < -0.0005).sort((a, b) => a.f1 - b.f1);
    const list = (cs: ClassDelta[]) => cs.map((c) => `${c.class} (${signed(c.f1)})`).join(', ');
    if (gains.length || losses.length)
      parts.push(
        `Per-class F1: ${best.trial} is ` +
          [
            gains.length ? `better on ${list(gains.slice(0, 3))}` : '',
            losses.length ? `worse on ${list(losses.slice(0, 3))}` : '',
          ]
            .filter(Boolean)
            .join(', ') +
          '.',
      );
  } else {
    parts.push(`${best.trial} and ${runner.trial} were not evaluated on the same images, so there is no paired test.`);
  }
  if (pairs.length > 1) {
    const significant = pairs.filter((p) => p.significant).length;
    parts.push(`${significant} of ${pairs.length} pairs differ significantly (Holm–Bonferroni, α = ${alpha}).`);
  }
  return {
    ...base,
    text: prefix + parts.join(' '),
    best: best.trial,
    runnerUp: runner.trial,
    significant: pair ? pair.significant : null,
  };
}

/** The report of a snapshot, without sample images (see `attachSampleImages`). */
export function buildReport(snapshot: SweepSnapshot, options: ReportOptions = {}): SweepReport {
  const metric = options.metric ?? 'test.accuracy';
  const alpha = options.alpha ?? 0.05;
  const comparison = compareTrials(snapshot, metric, alpha);
  const rule = snapshot.selection ?? DEFAULT_SELECTION;
  const selection = selectionOf(rule);
  const variants = variantReports(snapshot.trials, rule);
  const budget = budgetOf(variants);
  const seeds = seedComparisonOf(variants, parseMetric(metric).field === 'macroF1' ? 'macroF1' : 'accuracy', alpha);
  // A search or replicates selected each variant's configuration on validation: the verdict compares
  // those, never the trial that happens to be best on test.
  const selected = hasSelection(variants)
    ? seedVerdict({ selection, budget, variants, seeds, comparison, provisional: !snapshot.ended })
    : undefined;
  const count = (phase: TrialReport['phase']) => snapshot.trials.filter((t) => t.phase === phase).length;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'SweepReport',
    sweep: snapshot.sweep,
    phase: snapshot.phase,
    classes: snapshot.classes,
    expectedTrials: snapshot.expectedTrials,
    trialCounts: {
      total: snapshot.trials.length,
      pending: count('Pending'),
      running: count('Running'),
      succeeded: count('Succeeded'),
      failed: count('Failed'),
      stopped: count('Stopped'),
    },
    updatedAt: snapshot.updatedAt,
    trials: snapshot.trials,
    comparison,
    samples: sampleGrid(snapshot, comparison, snapshot.classes, options.maxSamples ?? 35),
    selection,
    variants,
    budget,
    seeds,
    verdict: selected ?? verdictOf(snapshot, comparison),
  };
}
