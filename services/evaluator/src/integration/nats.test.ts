/**
 * The evaluator on a real nats-server (JetStream): events in, report out; duplicates past the
 * stream's dedupe window, redeliveries after a failed commit and invalid messages.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expandTrials, keys, NATS, SweepSpec, type SweepId, type SweepReport } from '@fersweep/contracts';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import { startNats, type RunningServer } from '@fersweep/testkit';
import type { Registry } from 'prom-client';
import { SweepAggregator } from '../aggregator.js';
import { createEvaluator } from '../evaluator.js';
import { buildReport } from '../report/build.js';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { controllableStore, eventually, memoryLogger, tempStore } from '../testing/harness.js';

let nats: RunningServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await nats?.stop();
});

/** What an uninterrupted evaluator must serve: the report of the events applied once each. */
function reference(sweep: string): SweepReport {
  const a = new SweepAggregator(sweep as SweepId);
  const spec = SweepSpec.parse(sweepSpec(sweep));
  a.setPlan(expandTrials(spec), spec.spec.retries);
  for (const e of handBuiltSweep(sweep)) a.apply(e);
  return buildReport(a.snapshot());
}

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.reduce((s, v) => s + v.value, 0);
}

async function connect(name: string, duplicateWindowMs?: number): Promise<NatsBus> {
  const bus = await connectNatsBus({ url: nats.url, name, ...(duplicateWindowMs ? { duplicateWindowMs } : {}) });
  cleanups.push(() => bus.close());
  return bus;
}

describe('evaluator on NATS JetStream', () => {
  it('turns the events of a sweep into its report, exactly, and writes it to the store when the sweep ends', async () => {
    const sweep = 'nats-report';
    const { store, cleanup } = await tempStore();
    cleanups.push(cleanup);
    await store.put(keys.sweepSpec(sweep), JSON.stringify(sweepSpec(sweep)));
    const bus = await connect('evaluator');
    const publisher = await connect('trainer');
    const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
    const evaluator = createEvaluator({
      bus,
      store,
      registry,
      logger: memoryLogger('warn').logger,
      durable: 'evaluator-report',
      filter: NATS.sweepSubjects(sweep),
      sampleImages: false,
    });
    await evaluator.start();
    cleanups.push(() => evaluator.stop());
    for (const e of handBuiltSweep(sweep)) await publisher.publish(e);

    const stored = await eventually(
      async () =>
        (await store.head(`${keys.report(sweep)}/report.json`))
          ? (JSON.parse((await store.get(`${keys.report(sweep)}/report.json`)).toString('utf8')) as SweepReport)
          : undefined,
      'report.json in the store',
    );
    const served = await evaluator.report(sweep);
    expect(served).toEqual(stored);
    expect(served).toEqual(reference(sweep));

    // The numbers, by hand (see testing/fixtures.ts).
    const [cnn, mobilenet] = served!.trials;
    expect(served!.phase).toBe('Succeeded');
    expect(cnn!.test!.accuracy).toBeCloseTo(12 / 14, 14);
    expect(cnn!.test!.macroF1).toBeCloseTo(0.8476190476190476, 14);
    expect(cnn!.test!.accuracyInterval.lower).toBeCloseTo(0.6005862050302965, 12);
    expect(cnn!.gap!.accuracy).toBeCloseTo(0.32, 12);
    expect(mobilenet!.test!.accuracy).toBeCloseTo(8 / 14, 14);
    expect(mobilenet!.history).toHaveLength(3);
    expect(mobilenet!.bestEpoch!.epoch).toBe(2);
    expect(served!.comparison.ranking).toEqual(['cnn', 'mobilenet']);
    expect(served!.comparison.pairs[0]).toMatchObject({ a: 'cnn', b: 'mobilenet', onlyACorrect: 4, onlyBCorrect: 0 });
    expect(served!.comparison.pairs[0]!.mcnemarP).toBeCloseTo(0.125, 14);
    expect(served!.comparison.pairs[0]!.delta).toBeCloseTo(4 / 14, 14);
    // Counted once report.json (written last) is in the store.
    await eventually(
      async () => ((await counter(registry, 'fersweep_evaluator_reports_written_total')) === 1 ? true : undefined),
      'the report to be counted',
    );
  });

  it('counts every event once through duplicates, failed commits and redeliveries, and drops invalid messages', async () => {
    const sweep = 'nats-dupes';
    const { store: files, cleanup } = await tempStore();
    cleanups.push(cleanup);
    await files.put(keys.sweepSpec(sweep), JSON.stringify(sweepSpec(sweep)));
    const { store, failPuts } = controllableStore(files);
    // A 100 ms dedupe window lets a second copy of every event reach the stream, as after a long outage.
    const bus = await connect('evaluator', 100);
    const publisher = await connect('trainer', 100);
    const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
    const { logger, lines } = memoryLogger('info');
    const evaluator = createEvaluator({
      bus,
      store,
      registry,
      logger,
      durable: 'evaluator-dupes',
      filter: NATS.sweepSubjects(sweep),
      sampleImages: false,
      batchSize: 4,
      flushIntervalMs: 20,
      retryDelayMs: 100,
    });

    // Bad messages first: they must not stop what follows.
    const garbageSubject = NATS.trialSubject(sweep, 'cnn', 'trial.epoch');
    publisher.connection.publish(garbageSubject, 'not json at all');
    const offContract = { ...handBuiltSweep(sweep)[2]!, id: `${sweep}.cnn.bogus`, accuracy: 2 };
    publisher.connection.publish(garbageSubject, JSON.stringify(offContract));
    await publisher.connection.flush();

    failPuts(3); // the first commits fail: their events are nak'ed and come back
    await evaluator.start();
    cleanups.push(() => evaluator.stop());
    const events = handBuiltSweep(sweep);
    for (const e of events) await publisher.publish(e);
    await new Promise((r) => setTimeout(r, 150)); // past the dedupe window
    let stored = 0;
    for (const e of events) if (!(await publisher.publish(e)).duplicate) stored++;
    expect(stored).toBeGreaterThanOrEqual(13);

    await eventually(
      async () => ((await counter(registry, 'fersweep_evaluator_duplicate_events_total')) >= stored ? true : undefined),
      'the second copies to be consumed',
    );
    await eventually(
      async () => ((await store.head(`${keys.report(sweep)}/report.json`)) ? true : undefined),
      'report.json in the store',
    );
    expect(await evaluator.report(sweep)).toEqual(reference(sweep));
    expect(await counter(registry, 'fersweep_evaluator_store_failures_total')).toBeGreaterThanOrEqual(1);
    expect(await counter(registry, 'fersweep_evaluator_invalid_events_total')).toBe(2);
    const invalid = lines().filter((l) => String(l.message).startsWith('dropping invalid trial event'));
    expect(invalid).toHaveLength(2);
    for (const line of invalid) expect(line).toMatchObject({ level: 'warn', subject: garbageSubject });
    expect(invalid.map((l) => l.id)).toContain(`${sweep}.cnn.bogus`);
    const lag = await eventually(async () => {
      const text = await registry.getSingleMetricAsString('fersweep_evaluator_consumer_lag_events');
      return /fersweep_evaluator_consumer_lag_events 0$/m.test(text) ? text : undefined;
    }, 'the lag to drop to 0');
    expect(lag).toContain('fersweep_evaluator_consumer_lag_events 0');
  });
});
