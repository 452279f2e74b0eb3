/**
 * The variant sections of the HTML report (fersweep/v2) in a real headless Chromium: a sweep with a
 * search, ASHA stops and five seed replicates per configuration draws its seed strip/box plot, the
 * validation curves with stop points and the search history; the page states the selection (on
 * validation, reported on test) and equal budgets and says whether the ranking holds across seeds.
 * A fersweep/v1 report still renders. No console error; screenshots under test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandTrials, SweepReport, SweepSpec, type SweepId, type TrialEvent } from '@fersweep/contracts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openRecordingPage } from '../testing/browser.js';
import { SweepAggregator } from '../aggregator.js';
import { buildReport } from '../report/build.js';
import { echartsBundle, renderReportHtml } from '@fersweep/report';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { replicateSweep } from '../testing/replicates.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');
let browser: Browser;
let dir: string;

function reportOf(sweep: string, events: readonly TrialEvent[], plan = false): SweepReport {
  const a = new SweepAggregator(sweep as SweepId);
  if (plan) a.setPlan(expandTrials(SweepSpec.parse(sweepSpec(sweep))), 3);
  for (const e of events) a.apply(e);
  a.finalize();
  return buildReport(a.snapshot());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fersweep-seeds-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes the page with ECharts inlined, opens it from disk and records every console/page error. */
function openReport(report: SweepReport, name: string): Promise<{ page: Page; problems: string[] }> {
  const file = join(dir, `${name}.html`);
  writeFileSync(file, renderReportHtml(report, { inline: echartsBundle() }));
  return openRecordingPage(browser, `file://${file}`);
}

interface PageElement {
  id: string;
  width: number;
  height: number;
  querySelector(selector: string): PageElement | null;
}
interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<PageElement>; getElementById(id: string): PageElement };
  echarts: { getInstanceByDom(el: PageElement): { getOption(): { series: { name: string; data: unknown[] }[] } } };
}

/** Waits until every chart has drawn; the ids of those holding a non-empty canvas. */
async function drawnCharts(page: Page): Promise<string[]> {
  await page.waitForFunction(
    () => {
      const { document } = globalThis as unknown as PageGlobals;
      const all = document.querySelectorAll('[data-chart]').length;
      return all > 0 && document.querySelectorAll('[data-chart][data-rendered="true"]').length === all;
    },
    undefined,
    { timeout: 20_000 },
  );
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    return Array.from(document.querySelectorAll('[data-chart]'))
      .filter((c) => {
        const canvas = c.querySelector('canvas');
        return canvas !== null && canvas.width > 0 && canvas.height > 0;
      })
      .map((c) => c.id);
  });
}

describe('variant sections of the HTML report in headless Chromium', () => {
  it('draws the seed strip, the validation curves with stop points and the search history, and states the verdict', async () => {
    const report = reportOf('seeds', replicateSweep('seeds'));
    const { page, problems } = await openReport(report, 'seeds');
    const drawn = await drawnCharts(page);
    expect(drawn).toEqual(expect.arrayContaining(['seed-strip', 'validation-curves', 'search-history']));
    expect(drawn).toEqual(expect.arrayContaining(['learning-curves', 'per-class-f1']));
    // Five stopped trials: five stop markers, each at its rung.
    const stops = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const option = g.echarts.getInstanceByDom(g.document.getElementById('validation-curves')).getOption();
      return option.series.find((s) => s.name === 'stopped')!.data.length;
    });
    expect(stops).toBe(5);
    expect(await page.textContent('#selection')).toMatch(
      /^Selected on validation, reported on test; no selection on test: /,
    );
    expect(await page.textContent('#budget')).toMatch(
      /^Equal budgets: every variant ran 10 trials with a budget of 3 epochs each/,
    );
    expect(await page.textContent('#verdict')).toBe(report.verdict.text);
    expect(await page.textContent('#seeds-verdict')).toBe(
      'cnn ahead of mobilenet in 5 of 5 seeds, mean +20.8 points [18.4, 23.2] of test accuracy, paired t-test p = 1.7e-5: ' +
        'the ranking holds across seeds.',
    );
    expect(await page.$$eval('#seeds tbody tr', (rows) => rows.length)).toBe(10);
    expect(await page.textContent('#ranking')).toContain('Stopped at rung 1');
    await page.screenshot({ path: join(ARTIFACTS, 'evaluator-report-seeds.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('still renders a fersweep/v1 report (no variant sections), with a note', async () => {
    const v2 = reportOf('old', handBuiltSweep('old'), true);
    const { selection: _s, variants: _v, budget: _b, seeds: _d, ...rest } = v2;
    const v1Json = JSON.parse(
      JSON.stringify({
        ...rest,
        apiVersion: 'fersweep/v1',
        verdict: { ...v2.verdict, acrossSeeds: undefined },
        trials: v2.trials.map(({ seed: _seed, replicate: _r, ...t }) => t),
      }),
    ) as unknown;
    const v1 = SweepReport.parse(v1Json);
    expect(v1).toMatchObject({ apiVersion: 'fersweep/v1', variants: [], selection: null, seeds: null });
    const { page, problems } = await openReport(v1, 'v1');
    expect(await drawnCharts(page)).toEqual([
      'learning-curves',
      'per-class-f1',
      'confusion-cnn',
      'confusion-mobilenet',
    ]);
    expect(await page.textContent('#v1-note')).toContain('fersweep/v1');
    expect(await page.textContent('#verdict')).toBe(v1.verdict.text);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
