/** Writes a sweep's report to the object store: figures and page first, report.json last. */
import { keys, type SweepReport } from '@fersweep/contracts';
import type { ObjectStore } from '@fersweep/storage';
import { echartsBundle, renderFigures, renderReportHtml } from '@fersweep/report';

/**
 * Writes `sweeps/<id>/report/{<chart>.png, index.html, report.json}`. The page inlines ECharts so it
 * opens from any bucket or disk with no network. report.json goes last: once it is there, the rest
 * is too. Returns the keys written, relative to the store root.
 */
export async function writeReportArtifacts(store: ObjectStore, report: SweepReport): Promise<string[]> {
  const dir = keys.report(report.sweep);
  const written: string[] = [];
  for (const figure of await renderFigures(report)) {
    await store.put(`${dir}/${figure.name}`, figure.png, { contentType: 'image/png' });
    written.push(`${dir}/${figure.name}`);
  }
  await store.put(`${dir}/index.html`, renderReportHtml(report, { inline: echartsBundle() }), {
    contentType: 'text/html; charset=utf-8',
  });
  written.push(`${dir}/index.html`);
  await store.put(`${dir}/report.json`, JSON.stringify(report, null, 2) + '\n', { contentType: 'application/json' });
  written.push(`${dir}/report.json`);
  return written;
}
