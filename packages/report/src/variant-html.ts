/**
 * The variant-level part of the report page: how configurations were selected (on validation,
 * reported on test), the budget each variant got, each variant's selected configuration across
 * seeds, the paired comparison across seeds and the variant charts.
 */
import { selectedConfiguration, type SeedInterval, type SweepReport, type VariantReport } from '@fersweep/contracts';
import { escapeHtml } from './html.js';

const METRIC_WORDS = {
  valAccuracy: 'val accuracy',
  valLoss: 'val loss',
  accuracy: 'train accuracy',
  loss: 'train loss',
};
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null, digits = 3) => (x === null ? '—' : x.toFixed(digits));
const pText = (p: number | null) =>
  p === null ? '—' : p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2);

function meanCell(s: SeedInterval | null, percent: boolean): string {
  if (!s) return '—';
  const f = (x: number) => (percent ? pct(x) : num(x));
  const ci =
    s.lower === null || s.upper === null
      ? ' <small>(one seed: no interval)</small>'
      : ` <small>[${f(s.lower)}, ${f(s.upper)}]</small>`;
  return `${f(s.mean)}${ci}`;
}

function paramsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') : '(defaults)';
}

function variantsTable(report: SweepReport): string {
  const rows = report.variants.map((v: VariantReport) => {
    const c = selectedConfiguration(v);
    return `<tr><td class="text">${escapeHtml(v.variant)}</td><td class="text">${escapeHtml(v.model ?? '—')}</td>
<td>${v.trials}</td><td>${v.configurations.length}</td><td>${v.epochBudget ?? 'mixed'}</td><td>${v.epochsSpent}</td><td>${v.stopped}</td>
<td class="text">${c ? escapeHtml(paramsText(c.params)) : 'none eligible yet'}</td><td>${num(c?.validation ?? null, 4)}</td>
<td>${c ? c.runs.length : 0}</td><td>${meanCell(v.testAccuracy, true)}</td><td>${meanCell(v.testMacroF1, false)}</td></tr>`;
  });
  return `<table id="variants"><thead><tr><th class="text">variant</th><th class="text">model</th><th>trials</th><th>configurations</th>
<th>epochs per trial</th><th>epochs trained</th><th>stopped</th><th class="text">selected configuration (on validation)</th>
<th>its ${escapeHtml(METRIC_WORDS[report.selection?.metric ?? 'valAccuracy'])}</th><th>seeds</th><th>test accuracy (95% CI)</th><th>test macro F1 (95% CI)</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>`;
}

function seedsTable(report: SweepReport): string {
  const rows = report.variants.flatMap((v) =>
    (selectedConfiguration(v)?.runs ?? []).map(
      (r) => `<tr><td class="text">${escapeHtml(v.variant)}</td><td class="text">${escapeHtml(r.trial)}</td>
<td>${r.replicate ?? '—'}</td><td>${r.seed ?? '—'}</td><td>${num(r.validation, 4)}</td><td>${pct(r.testAccuracy)}</td><td>${num(r.testMacroF1)}</td></tr>`,
    ),
  );
  return `<table id="seeds"><thead><tr><th class="text">variant</th><th class="text">trial</th><th>replicate</th><th>seed</th>
<th>validation</th><th>test accuracy</th><th>test macro F1</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function seedPairsTable(report: SweepReport): string {
  const s = report.seeds;
  if (!s)
    return '<p>Fewer than two variants have a selected configuration evaluated on test: no comparison across seeds yet.</p>';
  const rows = s.pairs.map((p) => {
    const d = p.meanDifference;
    const ci =
      d.lower === null || d.upper === null
        ? ''
        : ` <small>[${(d.lower * 100).toFixed(1)}, ${(d.upper * 100).toFixed(1)}]</small>`;
    return `<tr><td class="text">${escapeHtml(p.a)} − ${escapeHtml(p.b)}</td><td>${d.n}</td><td>${p.aAhead} / ${p.bAhead} / ${p.ties}</td>
<td>${d.n ? `${d.mean >= 0 ? '+' : '−'}${Math.abs(d.mean * 100).toFixed(1)} pts${ci}` : '—'}</td><td>${pText(p.pValue)}</td><td>${pText(p.signP)}</td><td>${pText(p.wilcoxonP)}</td></tr>`;
  });
  const caveats = [...new Set(s.pairs.map((p) => p.caveat).filter((c): c is string => c !== null))];
  return `<p class="verdict" id="seeds-verdict">${escapeHtml(s.statement)}</p>
<table id="seed-pairs"><thead><tr><th class="text">pair (test ${s.metric === 'accuracy' ? 'accuracy' : 'macro F1'})</th><th>paired seeds</th><th>a ahead / b ahead / tied</th>
<th>mean difference (95% CI)</th><th>paired t-test p</th><th>sign test p</th><th>Wilcoxon p</th></tr></thead><tbody>${rows.join('')}</tbody></table>
${caveats.map((c) => `<p class="meta">${escapeHtml(c)}</p>`).join('')}`;
}

/**
 * The variant sections of the page, or a note for a v1 report (written before them). `chartDiv`
 * draws a chart's container by id; the charts are those of `variantCharts`.
 */
export function variantSections(
  report: SweepReport,
  chartIds: readonly string[],
  chartDiv: (id: string) => string,
): string {
  if (report.apiVersion === 'fersweep/v1')
    return '<p class="meta" id="v1-note">This report is fersweep/v1: it was written before per-variant selection, budgets and seed replicates were reported.</p>';
  if (!chartIds.length) return '';
  const div = (id: string) => (chartIds.includes(id) ? chartDiv(id) : '');
  return `<h2>Variants: selected on validation, reported on test</h2>
<p class="verdict" id="selection">${escapeHtml(report.selection?.statement ?? '')}</p>
${report.budget ? `<p id="budget">${escapeHtml(report.budget.statement)}</p>` : ''}
${variantsTable(report)}
<h2>Across seeds</h2>
${div('seed-strip')}
${seedPairsTable(report)}
${seedsTable(report)}
<h2>Validation curves and stop points</h2>
${div('validation-curves')}
<h2>Search history</h2>
${div('search-history')}`;
}
