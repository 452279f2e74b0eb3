/**
 * The HTML report in a real headless Chromium (Debian `chromium`, driven by playwright-core): the
 * page the evaluator serves and the one it stores, with sample images from a real (synthetic)
 * dataset. No console error, no request leaving localhost, every chart drawn; screenshots are saved
 * under test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { keys, NUM_CLASSES, type SweepReport } from '@fersweep/contracts';
import { DatasetReader, importDataset, syntheticSource } from '@fersweep/dataset';
import { createMemoryBus, type Bus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import { openStore, type FileStore } from '@fersweep/storage';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openRecordingPage } from '../testing/browser.js';
import { createApp } from '../app.js';
import { createEvaluator, type Evaluator } from '../evaluator.js';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from '../testing/harness.js';

const SWEEP = 'browser';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
let dir: string;
let store: FileStore;
let cleanup: () => Promise<void>;
let bus: Bus;
let evaluator: Evaluator;
let server: Server;
let base: string;
let browser: Browser;
let report: SweepReport;

/** Predictions that get every `every`-th image wrong (as the next class). */
const predict = (labels: number[], every: number) =>
  labels.map((l, i) => (i % every === 0 ? (l + 1) % NUM_CLASSES : l));

beforeAll(async () => {
  ({ store, dir, cleanup } = await tempStore());
  const datasetUrl = `${store.url}/datasets/synth`;
  await importDataset({
    source: syntheticSource({ count: 400, seed: 3 }),
    store: openStore(datasetUrl),
    name: 'synth',
    seed: 1,
    explore: false,
  });
  const reader = await DatasetReader.open(openStore(datasetUrl));
  const labels = Array.from((await reader.loadSplit('test')).labels);
  const positions: number[] = [];
  const taken = new Array<number>(NUM_CLASSES).fill(0);
  labels.forEach((l, i) => {
    if (taken[l]! < 2) {
      taken[l]!++;
      positions.push(i);
    }
  });

  await store.put(keys.sweepSpec(SWEEP), JSON.stringify(sweepSpec(SWEEP)));
  bus = createMemoryBus();
  const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
  const { logger } = memoryLogger('warn');
  evaluator = createEvaluator({ bus, store, registry, logger, flushIntervalMs: 10 });
  await evaluator.start();
  server = createApp({ evaluator, registry, logger }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const events = handBuiltSweep(SWEEP, {
    dataset: datasetUrl,
    datasetSha256: await reader.manifestSha256(),
    labels,
    cnnPredictions: predict(labels, 3),
    mobilenetPredictions: predict(labels, 2),
    positions,
  });
  for (const e of events) await bus.publish(e);
  report = await eventually(async () => {
    const r = await evaluator.report(SWEEP);
    return r?.phase === 'Succeeded' && (await store.head(`${keys.report(SWEEP)}/report.json`)) ? r : undefined;
  }, 'the sweep to end');

  browser = await launchChromium();

  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await evaluator?.stop();
  await bus?.close();
  await new Promise((r) => server?.close(r));
  await cleanup?.();
});

/** Opens a page that records console errors, page errors and any request leaving localhost (which it blocks). */
function open(url: string): Promise<{ page: Page; problems: string[] }> {
  return openRecordingPage(browser, url, (u) => u.hostname === '127.0.0.1');
}

/**
 * The little of the DOM the in-page callbacks use (the test project has no DOM lib): they run in
 * Chromium, where `globalThis.document` is the real one.
 */
interface PageElement {
  id: string;
  width: number;
  height: number;
  querySelector(selector: string): PageElement | null;
}
interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<PageElement> };
}

/** Waits for every chart to be drawn; returns how many there are and which hold a canvas. */
async function chartsDrawn(page: Page): Promise<{ total: number; drawn: string[] }> {
  await page.waitForFunction(
    () => {
      const { document } = globalThis as unknown as PageGlobals;
      const charts = document.querySelectorAll('[data-chart]');
      const rendered = document.querySelectorAll('[data-chart][data-rendered="true"]');
      return charts.length > 0 && rendered.length === charts.length;
    },
    undefined,
    { timeout: 20_000 },
  );
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const charts = Array.from(document.querySelectorAll('[data-chart]'));
    return {
      total: charts.length,
      drawn: charts
        .filter((c) => {
          const canvas = c.querySelector('canvas');
          return canvas !== null && canvas.width > 0 && canvas.height > 0;
        })
        .map((c) => c.id),
    };
  });
}

const EXPECTED_CHARTS = ['learning-curves', 'per-class-f1', 'confusion-cnn', 'confusion-mobilenet'];

describe('HTML report in headless Chromium', () => {
  it('renders the served page: every chart, the sample images, the verdict, no console error', async () => {
    expect(report.samples!.items.every((i) => i.image?.startsWith('data:image/png;base64,'))).toBe(true);
    const { page, problems } = await open(`${base}/sweeps/${SWEEP}`);
    const charts = await chartsDrawn(page);
    expect(charts).toEqual({ total: 4, drawn: EXPECTED_CHARTS });
    const images = await page.$$eval('#samples img', (imgs) =>
      imgs.map((i) => {
        const img = i as unknown as { complete: boolean; naturalWidth: number };
        return { complete: img.complete, width: img.naturalWidth };
      }),
    );
    expect(images).toHaveLength(report.samples!.items.length);
    for (const i of images) expect(i).toEqual({ complete: true, width: 48 });
    expect(await page.textContent('#verdict')).toBe(report.verdict.text);
    expect(await page.$$eval('#ranking tbody tr', (rows) => rows.length)).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'evaluator-report.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('renders the stored page from disk with ECharts inlined and nothing fetched', async () => {
    const { page, problems } = await open(`file://${join(dir, keys.report(SWEEP), 'index.html')}`);
    expect(await chartsDrawn(page)).toEqual({ total: 4, drawn: EXPECTED_CHARTS });
    await page.screenshot({ path: join(ARTIFACTS, 'evaluator-report-stored.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
