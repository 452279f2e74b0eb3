/**
 * The variant-level charts (fersweep/v2 reports of sweeps that selected): each variant's selected
 * configuration across seeds (box + strip of test accuracy and macro F1), every trial's validation
 * curve with the scheduler's stop points (the ASHA picture), and the search history (objective per
 * trial in launch order with the best so far). Plain JSON options, like figures.ts.
 */
import {
  DEFAULT_SELECTION,
  hasSelection,
  selectedConfiguration,
  type SweepReport,
  type TrialReport,
  type VariantReport,
} from '@fersweep/contracts';
import type { EChartsOption } from 'echarts';
import type { ChartSpec } from './figures.js';

/** One colour per variant (Tableau 10, as figures.ts), by its position in the report. */
const VARIANT_PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f'];
const colorOf = (report: SweepReport, variant: string) =>
  VARIANT_PALETTE[
    Math.max(
      0,
      report.variants.findIndex((v) => v.variant === variant),
    ) % VARIANT_PALETTE.length
  ]!;

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

const METRIC_LABEL: Record<string, string> = {
  valAccuracy: 'val accuracy',
  valLoss: 'val loss',
  accuracy: 'train accuracy',
  loss: 'train loss',
};

/** Linear-interpolated quantile of sorted values (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function seedValues(v: VariantReport, metric: 'accuracy' | 'macroF1'): { trial: string; value: number }[] {
  return (selectedConfiguration(v)?.runs ?? []).flatMap((r) => {
    const value = metric === 'accuracy' ? r.testAccuracy : r.testMacroF1;
    return value === null ? [] : [{ trial: r.trial, value }];
  });
}

/**
 * Box plot and the individual seeds (strip, spread sideways so equal values stay visible) of each
 * variant's selected configuration on test: accuracy left, macro F1 right.
 */
export function seedStripOption(report: SweepReport): EChartsOption {
  const variants = report.variants.filter((v) => seedValues(v, 'accuracy').length > 0);
  const names = variants.map((v) => v.variant);
  const series: NonNullable<EChartsOption['series']> = [];
  (['accuracy', 'macroF1'] as const).forEach((metric, grid) => {
    series.push({
      name: `${metric} box`,
      type: 'boxplot',
      // Per grid: a category axis for the boxes and a hidden value axis over it for the spread dots.
      xAxisIndex: 2 * grid,
      yAxisIndex: grid,
      itemStyle: { color: '#ffffff', borderColor: '#555555' },
      data: variants.map((v) => {
        const xs = seedValues(v, metric)
          .map((s) => s.value)
          .sort((a, b) => a - b);
        return [0, 0.25, 0.5, 0.75, 1].map((q) => round(quantile(xs, q)));
      }),
    });
    series.push({
      name: `${metric} seeds`,
      type: 'scatter',
      xAxisIndex: 2 * grid + 1,
      yAxisIndex: grid,
      symbolSize: 9,
      data: variants.flatMap((v, i) => {
        const seeds = seedValues(v, metric);
        return seeds.map((s, j) => ({
          name: s.trial,
          value: [round(i + (seeds.length > 1 ? (j / (seeds.length - 1) - 0.5) * 0.3 : 0), 3), round(s.value)],
          itemStyle: { color: colorOf(report, v.variant) },
        }));
      }),
    });
  });
  const axis = (gridIndex: number) => [
    { type: 'category' as const, gridIndex, data: names, boundaryGap: true },
    { type: 'value' as const, gridIndex, min: -0.5, max: names.length - 0.5, show: false },
  ];
  return {
    animation: false,
    title: {
      text: 'Selected configurations across seeds (test)',
      subtext: 'box: quartiles over seeds; dots: one seed each',
      left: 'center',
    },
    tooltip: { trigger: 'item' },
    grid: [
      { left: 60, width: '38%', top: 80, bottom: 40 },
      { right: 30, width: '38%', top: 80, bottom: 40 },
    ],
    xAxis: [...axis(0), ...axis(1)],
    yAxis: [
      // onZero: false, or the y axis line would sit at the hidden value axis' 0 (the first box).
      { type: 'value', gridIndex: 0, name: 'test accuracy', scale: true, axisLine: { show: true, onZero: false } },
      { type: 'value', gridIndex: 1, name: 'test macro F1', scale: true, axisLine: { show: true, onZero: false } },
    ],
    series,
  };
}

/**
 * Every trial's curve of the selection metric per epoch, coloured by variant; a trial the scheduler
 * stopped ends in a marker at its rung (the classic ASHA picture).
 */
export function validationCurvesOption(report: SweepReport): EChartsOption {
  const metric = (report.selection ?? DEFAULT_SELECTION).metric;
  const value = (h: TrialReport['history'][number]) => h[metric];
  const series: NonNullable<EChartsOption['series']> = report.trials.map((t) => {
    const color = colorOf(report, t.variant);
    return {
      name: t.variant,
      type: 'line',
      // A trial stopped after one epoch has no line to draw: show its point.
      showSymbol: t.history.length === 1,
      color,
      lineStyle: { color, width: 1.5, opacity: t.phase === 'Stopped' ? 0.6 : 1 },
      data: t.history.map((h) => ({ name: t.trial, value: [h.epoch, round(value(h))] })),
    };
  });
  const stops = report.trials.flatMap((t) => {
    const at = t.stopped ? t.history.find((h) => h.epoch === t.stopped!.epoch) : undefined;
    return at && t.stopped
      ? [
          {
            name: `${t.trial}: stopped${t.stopped.rung !== null ? ` at rung ${t.stopped.rung}` : ''} (epoch ${t.stopped.epoch})`,
            value: [at.epoch, round(value(at))],
            itemStyle: { color: colorOf(report, t.variant) },
          },
        ]
      : [];
  });
  series.push({ name: 'stopped', type: 'scatter', symbol: 'triangle', symbolSize: 12, color: '#555555', data: stops });
  return {
    animation: false,
    title: {
      text: `Every trial's ${METRIC_LABEL[metric]} per epoch`,
      subtext: 'a triangle marks where the sweep’s scheduler stopped a trial',
      left: 'center',
    },
    tooltip: { trigger: 'item' },
    legend: { bottom: 0, data: [...report.variants.map((v) => v.variant), 'stopped'] },
    grid: { left: 70, right: 30, top: 70, bottom: 60 },
    xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 24, min: 1, minInterval: 1 },
    yAxis: { type: 'value', name: METRIC_LABEL[metric], scale: true },
    series,
  };
}

/** Each variant's objective per trial in launch order, with its best so far as a step line. */
export function searchHistoryOption(report: SweepReport): EChartsOption {
  const rule = report.selection ?? DEFAULT_SELECTION;
  const series: NonNullable<EChartsOption['series']> = [];
  for (const v of report.variants) {
    const color = colorOf(report, v.variant);
    let best: number | undefined;
    const bestSoFar: [number, number][] = [];
    v.history.forEach((h, i) => {
      if (
        h.objective !== null &&
        (best === undefined || (rule.mode === 'max' ? h.objective > best : h.objective < best))
      )
        best = h.objective;
      if (best !== undefined) bestSoFar.push([i + 1, round(best)]);
    });
    series.push({
      name: v.variant,
      type: 'scatter',
      color,
      symbolSize: 8,
      data: v.history.flatMap((h, i) =>
        h.objective === null ? [] : [{ name: h.trial, value: [i + 1, round(h.objective)] }],
      ),
    });
    series.push({
      name: `${v.variant} best so far`,
      type: 'line',
      step: 'end',
      showSymbol: false,
      color,
      lineStyle: { color, width: 2 },
      data: bestSoFar,
    });
  }
  return {
    animation: false,
    title: {
      text: 'Search history',
      subtext: `${METRIC_LABEL[rule.metric]} per trial in launch order (${rule.mode === 'max' ? 'higher' : 'lower'} is better)`,
      left: 'center',
    },
    tooltip: { trigger: 'item' },
    legend: { type: 'scroll', bottom: 0 },
    grid: { left: 70, right: 30, top: 70, bottom: 60 },
    xAxis: { type: 'value', name: 'trial (launch order)', nameLocation: 'middle', nameGap: 24, min: 1, minInterval: 1 },
    yAxis: { type: 'value', name: METRIC_LABEL[rule.metric], scale: true },
    series,
  };
}

/** The variant-level charts a report has: none for v1 reports and sweeps with one trial per variant. */
export function variantCharts(report: SweepReport): ChartSpec[] {
  if (!hasSelection(report.variants)) return [];
  const charts: ChartSpec[] = [];
  if (report.variants.some((v) => seedValues(v, 'accuracy').length > 0))
    charts.push({
      id: 'seed-strip',
      title: 'Selected configurations across seeds',
      width: 960,
      height: 420,
      option: seedStripOption(report),
    });
  charts.push(
    {
      id: 'validation-curves',
      title: 'Validation curves and stop points',
      width: 960,
      height: 460,
      option: validationCurvesOption(report),
    },
    { id: 'search-history', title: 'Search history', width: 960, height: 420, option: searchHistoryOption(report) },
  );
  return charts;
}
