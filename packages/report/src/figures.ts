/**
 * The report's charts as ECharts options: plain JSON (no functions), so the same option draws the
 * interactive chart in the HTML page and the PNG figure rendered server-side (renderChartPng).
 */
import type { SweepReport, TrialReport } from '@fersweep/contracts';
import { renderChartPng } from './chart-png.js';
import type { EChartsOption } from 'echarts';
import { variantCharts } from './variant-figures.js';

/** Colour-blind-friendly (Tableau 10); trial i always gets colour i % 10. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/** One chart of the report: where it goes, how big it is drawn, what it shows. */
export interface ChartSpec {
  /** DOM id in the HTML page; the PNG's file name without `.png`. */
  id: string;
  title: string;
  width: number;
  height: number;
  option: EChartsOption;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/** Trials in the order the charts show them: ranked ones first, then the rest by id. */
export function chartTrials(report: SweepReport): TrialReport[] {
  const rank = new Map(report.comparison.ranking.map((t, i) => [t as string, i]));
  return [...report.trials].sort(
    (a, b) => (rank.get(a.trial) ?? Infinity) - (rank.get(b.trial) ?? Infinity) || (a.trial < b.trial ? -1 : 1),
  );
}

/**
 * Learning curves of every trial on one chart: accuracy (top) and loss (bottom) per epoch,
 * solid = train, dashed = validation, one colour per trial.
 */
export function learningCurvesOption(report: SweepReport): EChartsOption {
  const trials = chartTrials(report);
  const series: NonNullable<EChartsOption['series']> = [];
  trials.forEach((t, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const line = (name: string, grid: number, dashed: boolean, pick: (h: TrialReport['history'][number]) => number) =>
      series.push({
        name,
        type: 'line',
        xAxisIndex: grid,
        yAxisIndex: grid,
        showSymbol: t.history.length <= 30,
        color,
        lineStyle: { color, type: dashed ? 'dashed' : 'solid', width: 2 },
        data: t.history.map((h) => [h.epoch, round(pick(h))]),
      });
    line(`${t.trial} train`, 0, false, (h) => h.accuracy);
    line(`${t.trial} val`, 0, true, (h) => h.valAccuracy);
    line(`${t.trial} train`, 1, false, (h) => h.loss);
    line(`${t.trial} val`, 1, true, (h) => h.valLoss);
  });
  return {
    animation: false,
    title: {
      text: `Learning curves — ${report.sweep}`,
      subtext: 'solid: train, dashed: validation',
      left: 'center',
    },
    tooltip: { trigger: 'axis' },
    legend: { type: 'scroll', bottom: 0 },
    grid: [
      { left: 70, right: 30, top: 70, height: '32%' },
      { left: 70, right: 30, top: '56%', height: '30%' },
    ],
    xAxis: [0, 1].map((gridIndex) => ({
      type: 'value' as const,
      gridIndex,
      name: 'epoch',
      nameLocation: 'middle' as const,
      nameGap: 24,
      min: 1,
      max: 'dataMax' as const,
      minInterval: 1,
    })),
    yAxis: [
      { type: 'value', gridIndex: 0, name: 'accuracy', min: 0, max: 1 },
      { type: 'value', gridIndex: 1, name: 'loss', scale: true },
    ],
    series,
  };
}

/** Per-class F1 of every evaluated trial on the comparison split, bars side by side. */
export function f1BarsOption(report: SweepReport): EChartsOption {
  const split = report.comparison.split;
  const trials = chartTrials(report).filter((t) => t.splits[split]);
  return {
    animation: false,
    title: { text: `Per-class F1 (${split})`, left: 'center' },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { type: 'scroll', bottom: 0 },
    grid: { left: 60, right: 20, top: 50, bottom: 60 },
    xAxis: { type: 'category', data: report.classes },
    yAxis: { type: 'value', name: 'F1', min: 0, max: 1 },
    series: trials.map((t) => ({
      name: t.trial,
      type: 'bar',
      color: PALETTE[chartTrials(report).indexOf(t) % PALETTE.length]!,
      data: t.splits[split]!.perClass.map((c) => round(c.f1, 3)),
    })),
  };
}

/**
 * A trial's confusion matrix on the comparison split as a heatmap: colour = row-normalised rate
 * (per-class recall on the diagonal), each cell labelled with its count and rate.
 */
export function confusionOption(report: SweepReport, trial: TrialReport): EChartsOption {
  const split = report.comparison.split;
  const s = trial.splits[split];
  const classes = report.classes;
  const data = (s?.confusionMatrix ?? []).flatMap((row, t) =>
    row.map((count, p) => {
      const rate = s!.normalizedConfusionMatrix[t]?.[p] ?? 0;
      return {
        value: [p, t, round(rate), count],
        label: {
          formatter: `${count}\n${Math.round(rate * 100)}%`,
          color: rate > 0.55 ? '#ffffff' : '#1b1b1b',
        },
      };
    }),
  );
  return {
    animation: false,
    title: {
      text: `${trial.trial}: confusion matrix (${split})`,
      subtext: s ? `accuracy ${(s.accuracy * 100).toFixed(1)}% of ${s.images} images` : 'not evaluated yet',
      left: 'center',
    },
    tooltip: { position: 'top' },
    grid: { left: 80, right: 20, top: 70, bottom: 90 },
    xAxis: {
      type: 'category',
      data: classes,
      name: 'predicted',
      nameLocation: 'middle',
      nameGap: 28,
      splitArea: { show: true },
    },
    yAxis: {
      type: 'category',
      data: classes,
      name: 'true',
      nameLocation: 'middle',
      nameGap: 62,
      inverse: true,
      splitArea: { show: true },
    },
    visualMap: {
      min: 0,
      max: 1,
      dimension: 2,
      calculable: false,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      text: ['100%', '0%'],
      inRange: { color: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'] },
    },
    series: [{ name: trial.trial, type: 'heatmap', data, label: { show: true, fontSize: 10, lineHeight: 13 } }],
  };
}

/** File-name-safe id of a trial's confusion chart. */
export const confusionChartId = (trial: string) => `confusion-${trial}`;

/** Every chart of the report, in page order. */
export function reportCharts(report: SweepReport): ChartSpec[] {
  const split = report.comparison.split;
  return [
    {
      id: 'learning-curves',
      title: 'Learning curves',
      width: 960,
      height: 620,
      option: learningCurvesOption(report),
    },
    { id: 'per-class-f1', title: `Per-class F1 (${split})`, width: 960, height: 420, option: f1BarsOption(report) },
    ...variantCharts(report),
    ...chartTrials(report)
      .filter((t) => t.splits[split])
      .map((t) => ({
        id: confusionChartId(t.trial),
        title: `${t.trial}: confusion matrix`,
        width: 560,
        height: 520,
        option: confusionOption(report, t),
      })),
  ];
}

/** The report's charts as PNG files (`<chart id>.png`), rendered server-side. */
export async function renderFigures(report: SweepReport): Promise<{ name: string; png: Buffer }[]> {
  const out: { name: string; png: Buffer }[] = [];
  for (const chart of reportCharts(report)) {
    out.push({ name: `${chart.id}.png`, png: await renderChartPng(chart.option, chart.width, chart.height) });
  }
  return out;
}
