import type { SeedInterval, SweepReport } from '@fersweep/contracts';
import { table } from './format.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function withInterval(s: SeedInterval | null, percent: boolean): string {
  if (!s) return '-';
  const f = (x: number) => (percent ? pct(x) : x.toFixed(3));
  return s.lower === null || s.upper === null ? `${f(s.mean)} (1 seed)` : `${f(s.mean)} [${f(s.lower)}, ${f(s.upper)}]`;
}

/**
 * The variant-level comparison in the terminal (fersweep/v2 reports of sweeps that selected): how
 * each variant's configuration was selected, the budgets, each selected configuration across seeds
 * and the paired comparison across seeds. Empty for v1 reports and one-trial-per-variant sweeps.
 */
export function variantsText(report: SweepReport): string {
  if (!report.variants.some((v) => v.trials > 1)) return '';
  const rows = report.variants.map((v) => {
    const c = v.configurations.find((x) => x.key === v.selected);
    return [
      v.variant,
      String(v.trials),
      String(v.configurations.length),
      `${v.epochsSpent}${v.epochBudget ? ` of ${v.trials * v.epochBudget}` : ''}`,
      String(v.stopped),
      c
        ? Object.entries(c.params)
            .map(([k, x]) => `${k}=${JSON.stringify(x)}`)
            .join(' ') || '(defaults)'
        : '-',
      String(c?.runs.length ?? 0),
      withInterval(v.testAccuracy, true),
      withInterval(v.testMacroF1, false),
    ];
  });
  const lines = [
    report.selection?.statement ?? '',
    report.budget?.statement ?? '',
    '',
    table(rows, [
      'variant',
      'trials',
      'configs',
      'epochs trained',
      'stopped',
      'selected (on validation)',
      'seeds',
      'test acc [95% CI]',
      'macro F1 [95% CI]',
    ]),
  ];
  if (report.seeds) lines.push('', `Across seeds: ${report.seeds.statement}`);
  return lines.filter((l, i) => l !== '' || i > 0).join('\n');
}
