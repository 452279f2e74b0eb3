/**
 * The report as one HTML page: verdict, ranking, learning curves, per-class F1, a confusion heatmap
 * per trial, the McNemar pairs and the sample-predictions grid. Charts are ECharts, drawn in the
 * browser from the same options the PNG figures use; ECharts itself is either a local URL (the
 * evaluator serves /assets/echarts.min.js) or inlined (the stored page works offline, from any
 * bucket). Nothing is loaded from outside.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SweepReport, TrialReport } from '@fersweep/contracts';
import { formatP, metricValue } from './rank-metric.js';
import { chartTrials, PALETTE, reportCharts } from './figures.js';
import { variantCharts } from './variant-figures.js';
import { variantSections } from './variant-html.js';

/** Where the page gets ECharts from. */
export type EchartsSource = { src: string } | { inline: string };

/** Path of ECharts' browser bundle in node_modules. */
export function echartsBundlePath(): string {
  return createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
}

let bundle: string | undefined;
/** ECharts' browser bundle (read once). */
export function echartsBundle(): string {
  bundle ??= readFileSync(echartsBundlePath(), 'utf8');
  return bundle;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text safe inside HTML elements and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON safe inside a <script> element: nothing in it can close the element or start a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

const STYLE = `
:root { color-scheme: light; font-family: system-ui, 'DejaVu Sans', sans-serif; color: #1b1b1b; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; background: #fafafa; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 32px 0 8px; }
.meta { color: #555; margin: 0 0 16px; }
.phase { display: inline-block; padding: 2px 8px; border-radius: 10px; background: #e8eef6; font-size: .85rem; }
.phase.Succeeded { background: #dff0d8; } .phase.Stopped { background: #e2e3e5; } .phase.Failed { background: #f8d7da; } .phase.Running { background: #fff3cd; }
.verdict { background: #fff; border-left: 4px solid #4e79a7; padding: 12px 16px; line-height: 1.5; }
.verdict.provisional { border-left-color: #edc948; }
table { border-collapse: collapse; background: #fff; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.chart { background: #fff; border: 1px solid #ddd; margin: 8px 0; }
.heatmaps { display: flex; flex-wrap: wrap; gap: 8px; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
.sample { margin: 0; background: #fff; border: 1px solid #ddd; padding: 8px; font-size: .85rem; }
.sample img, .sample .noimage { width: 96px; height: 96px; image-rendering: pixelated; display: block; margin: 0 auto 4px; }
.sample .noimage { background: #eee; color: #777; text-align: center; line-height: 96px; }
.sample ul { list-style: none; margin: 4px 0 0; padding: 0; }
.sample li span { color: #555; }
.ok { color: #2e7d32; } .bad { color: #c62828; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
`;

/** The in-page script: draws every chart from the embedded options, marks each one drawn. */
const SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('fersweep-charts').textContent);
  var drawn = [];
  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.on('finished', function () { el.setAttribute('data-rendered', 'true'); });
    chart.setOption(c.option);
    drawn.push(chart);
  });
  window.addEventListener('resize', function () { drawn.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-charts', String(drawn.length));
})();
`;

/** The phase badge; a trial the sweep's scheduler stopped says at which rung, and why on hover. */
function phaseCell(t: TrialReport): string {
  if (t.phase !== 'Stopped' || !t.stopped) return `<span class="phase ${t.phase}">${t.phase}</span>`;
  const at = t.stopped.rung !== null ? `rung ${t.stopped.rung}` : `epoch ${t.stopped.epoch}`;
  return `<span class="phase Stopped" title="${escapeHtml(t.stopped.reason)}">Stopped at ${at}</span>`;
}

function rankingTable(report: SweepReport, trials: TrialReport[]): string {
  const split = report.comparison.split;
  const rank = new Map(report.comparison.ranking.map((t, i) => [t as string, i + 1]));
  const rows = trials.map((t, i) => {
    const s = t.splits[split];
    const value = metricValue(t, report.comparison.metric);
    return `<tr>
  <td>${rank.get(t.trial) ?? '—'}</td>
  <td class="text"><span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>${escapeHtml(t.trial)}</td>
  <td class="text">${escapeHtml(t.variant)}</td><td class="text">${escapeHtml(t.model ?? '—')}</td>
  <td class="text">${phaseCell(t)}</td>
  <td>${value === undefined ? '—' : value.toFixed(3)}</td>
  <td>${s ? `${pct(s.accuracy)} <small>(${pct(s.accuracyInterval.lower)}–${pct(s.accuracyInterval.upper)})</small>` : '—'}</td>
  <td>${num(s?.macroF1)}</td><td>${num(s?.weightedF1)}</td>
  <td>${t.final ? `${pct(t.final.accuracy)} / ${pct(t.final.valAccuracy)}` : '—'}</td>
  <td>${t.gap ? signed(t.gap.accuracy) : '—'}</td>
  <td>${t.bestEpoch ? `${t.bestEpoch.epoch} of ${t.history.length}` : '—'}</td>
</tr>`;
  });
  return `<table id="ranking"><thead><tr><th>rank</th><th class="text">trial</th><th class="text">variant</th><th class="text">model</th>
<th class="text">phase</th><th>${escapeHtml(report.comparison.metric)}</th><th>${split} accuracy (95% CI)</th><th>macro F1</th><th>weighted F1</th>
<th>final train / val acc</th><th>train−val gap</th><th>best epoch</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function pairsTable(report: SweepReport): string {
  const { pairs, excluded, split } = report.comparison;
  if (pairs.length === 0) return `<p>No pair of trials evaluated on the same ${escapeHtml(split)} images yet.</p>`;
  const rows = pairs.map(
    (
      p,
    ) => `<tr><td class="text">${escapeHtml(p.a)}</td><td class="text">${escapeHtml(p.b)}</td><td>${signed(p.delta)}</td>
<td>${p.onlyACorrect}</td><td>${p.onlyBCorrect}</td><td>${formatP(p.mcnemarP)}</td><td>${formatP(p.mcnemarPAdjusted)}</td>
<td class="${p.significant ? 'ok' : ''}">${p.significant ? 'yes' : 'no'}</td>
<td class="text">${p.perClass.map((c) => `${escapeHtml(c.class)} ${signed(c.f1)}`).join(', ')}</td></tr>`,
  );
  const left = excluded.length
    ? `<p>Not paired: ${excluded.map((e) => `${escapeHtml(e.trial)} (${escapeHtml(e.reason)})`).join('; ')}.</p>`
    : '';
  return `<table id="pairs"><thead><tr><th class="text">a</th><th class="text">b</th><th>Δ ${escapeHtml(report.comparison.metric)}</th>
<th>only a right</th><th>only b right</th><th>McNemar p</th><th>Holm p</th><th>significant (α = ${report.comparison.alpha})</th>
<th class="text">per-class ΔF1 (a − b)</th></tr></thead><tbody>${rows.join('')}</tbody></table>${left}`;
}

function samplesGrid(report: SweepReport): string {
  const grid = report.samples;
  if (!grid) return '<p>No sample predictions published yet.</p>';
  const cards = grid.items.map((item) => {
    const image = item.image
      ? `<img src="${escapeHtml(item.image)}" alt="${escapeHtml(item.labelName)} #${item.index}">`
      : '<div class="noimage">no image</div>';
    const predictions = item.predictions
      .map(
        (p) =>
          `<li class="${p.correct ? 'ok' : 'bad'}"><span>${escapeHtml(p.trial)}</span> ${escapeHtml(p.predictedName)}${
            p.probability === null ? '' : ` <small>${pct(p.probability)}</small>`
          }</li>`,
      )
      .join('');
    return `<figure class="sample">${image}<figcaption><b>${escapeHtml(item.labelName)}</b> <small>#${item.index}</small><ul>${predictions}</ul></figcaption></figure>`;
  });
  return `<div class="samples" id="samples">${cards.join('')}</div>`;
}

function perClassTable(report: SweepReport, trials: TrialReport[]): string {
  const split = report.comparison.split;
  const evaluated = trials.filter((t) => t.splits[split]);
  if (evaluated.length === 0) return '';
  const head = evaluated.map((t) => `<th colspan="3">${escapeHtml(t.trial)}</th>`).join('');
  const sub = evaluated.map(() => '<th>precision</th><th>recall</th><th>F1</th>').join('');
  const rows = report.classes.map((c, i) => {
    const support = evaluated[0]!.splits[split]!.perClass[i]?.support ?? 0;
    const cells = evaluated
      .map((t) => {
        const m = t.splits[split]!.perClass[i];
        return `<td>${num(m?.precision)}</td><td>${num(m?.recall)}</td><td>${num(m?.f1)}</td>`;
      })
      .join('');
    return `<tr><td>${escapeHtml(c)}</td><td>${support}</td>${cells}</tr>`;
  });
  return `<table id="per-class"><thead><tr><th rowspan="2">class</th><th rowspan="2">support</th>${head}</tr><tr>${sub}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The report page. `echarts` says where the page loads ECharts from (never a CDN). */
export function renderReportHtml(report: SweepReport, echarts: EchartsSource): string {
  const trials = chartTrials(report);
  const charts = reportCharts(report);
  const chartDiv = (id: string) => {
    const c = charts.find((x) => x.id === id)!;
    return `<div class="chart" id="${escapeHtml(c.id)}" data-chart style="width:${c.width}px;height:${c.height}px"></div>`;
  };
  const heatmaps = charts.filter((c) => c.id.startsWith('confusion-')).map((c) => chartDiv(c.id));
  const script =
    'src' in echarts
      ? `<script src="${escapeHtml(echarts.src)}"></script>`
      : `<script>${echarts.inline.replace(/<\/script/gi, '<\\/script')}</script>`;
  const c = report.trialCounts;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fersweep report — ${escapeHtml(report.sweep)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Sweep ${escapeHtml(report.sweep)} <span class="phase ${report.phase}">${report.phase}</span></h1>
<p class="meta">${c.total} trials${report.expectedTrials === null ? '' : ` of ${report.expectedTrials} planned`}: ${c.succeeded} succeeded, ${c.stopped ? `${c.stopped} stopped by the scheduler, ` : ''}${c.failed} failed, ${c.running} running, ${c.pending} pending${
    report.updatedAt ? ` · last event ${escapeHtml(report.updatedAt)}` : ''
  } · ranked by ${escapeHtml(report.comparison.metric)}</p>
<h2>Verdict</h2>
<p class="verdict${report.verdict.provisional ? ' provisional' : ''}" id="verdict">${escapeHtml(report.verdict.text)}</p>
${variantSections(
  report,
  variantCharts(report).map((x) => x.id),
  chartDiv,
)}
<h2>Ranking</h2>
${rankingTable(report, trials)}
<h2>Learning curves</h2>
${chartDiv('learning-curves')}
<h2>Per-class F1</h2>
${chartDiv('per-class-f1')}
${perClassTable(report, trials)}
<h2>Confusion matrices (${escapeHtml(report.comparison.split)})</h2>
<p class="meta">Rows: true emotion; columns: predicted. Each cell: count and share of its row.</p>
<div class="heatmaps">${heatmaps.join('\n') || '<p>No trial evaluated yet.</p>'}</div>
<h2>Paired comparison (McNemar)</h2>
${pairsTable(report)}
<h2>Sample predictions</h2>
<p class="meta">True emotion in bold; each trial's prediction (green: right, red: wrong) with its probability.</p>
${samplesGrid(report)}
<script type="application/json" id="fersweep-report">${scriptJson({ sweep: report.sweep, phase: report.phase, verdict: report.verdict })}</script>
<script type="application/json" id="fersweep-charts">${scriptJson(charts.map((x) => ({ id: x.id, option: x.option })))}</script>
${script}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
