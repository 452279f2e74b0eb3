/**
 * Memory: a finished sweep leaves the evaluator's memory (its events, per-image predictions
 * included) once its final report is stored, and is then served from that report; a purged sweep
 * is dropped at once (`DELETE /v1/sweeps/{id}`), so a reused name starts from nothing.
 */
import { afterEach, expect, it } from '@jest/globals';
import { expandTrials, keys, SweepSpec, type SweepId, type SweepReport } from '@fersweep/contracts';
import { createMemoryBus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import { SweepAggregator } from './aggregator.js';
import { createEvaluator, type Evaluator } from './evaluator.js';
import { buildReport } from './report/build.js';
import { handBuiltSweep, sweepSpec } from './testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function running(evictAfterMs?: number): Promise<{
  evaluator: Evaluator;
  publish: (sweep: string) => Promise<void>;
  store: Awaited<ReturnType<typeof tempStore>>['store'];
}> {
  const { store, cleanup } = await tempStore();
  cleanups.push(cleanup);
  const bus = createMemoryBus();
  const evaluator = createEvaluator({
    bus,
    store,
    registry: createRegistry({ service: 'evaluator', defaultMetrics: false }),
    logger: memoryLogger('warn').logger,
    flushIntervalMs: 10,
    sampleImages: false,
    ...(evictAfterMs !== undefined ? { evictAfterMs } : {}),
  });
  await evaluator.start();
  cleanups.push(() => evaluator.stop());
  return {
    evaluator,
    store,
    publish: async (sweep) => {
      await store.put(keys.sweepSpec(sweep), JSON.stringify(sweepSpec(sweep)));
      for (const e of handBuiltSweep(sweep)) await bus.publish(e);
    },
  };
}

function reference(sweep: string): SweepReport {
  const a = new SweepAggregator(sweep as SweepId);
  const spec = SweepSpec.parse(sweepSpec(sweep));
  a.setPlan(expandTrials(spec), spec.spec.retries);
  for (const e of handBuiltSweep(sweep)) a.apply(e);
  return buildReport(a.snapshot());
}

it('evicts a finished sweep after its report is stored, and serves the stored report', async () => {
  const { evaluator, publish, store } = await running(0);
  await publish('done');
  await eventually(async () => ((await store.head(`${keys.report('done')}/report.json`)) ? true : undefined), 'report');
  await eventually(async () => (evaluator.sweeps().length === 0 ? true : undefined), 'eviction');
  const served = await evaluator.report('done');
  expect(served).toEqual(reference('done'));
  expect(evaluator.sweeps()).toEqual([]); // served without loading the events back
  expect(await evaluator.html('done', { src: '/echarts.js' })).toContain('done');
  // Another ranking metric needs the events: loaded again, on demand.
  expect((await evaluator.report('done', { metric: 'test.macroF1' }))?.comparison.metric).toBe('test.macroF1');
});

it('keeps a finished sweep for evictAfterMs, and forget() drops it at once', async () => {
  const { evaluator, publish, store } = await running(3_600_000);
  await publish('kept');
  await eventually(async () => ((await store.head(`${keys.report('kept')}/report.json`)) ? true : undefined), 'report');
  expect(await evaluator.evictFinished()).toEqual([]);
  expect(evaluator.sweeps().map((s) => s.sweep)).toEqual(['kept']);
  expect(await evaluator.forget('kept')).toBe(true);
  expect(evaluator.sweeps()).toEqual([]);
});
