/**
 * Restart safety on a real nats-server: an evaluator dies mid-sweep (its NATS connection and its
 * store cut at once, as a killed process's are), a new one takes over the durable consumer, and the
 * report it serves equals the one of an evaluator that ran uninterrupted: nothing lost, nothing
 * counted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expandTrials, keys, NATS, SweepSpec, type SweepId, type SweepReport } from '@fersweep/contracts';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import { startNats, type RunningServer } from '@fersweep/testkit';
import type { Registry } from 'prom-client';
import { SweepAggregator } from '../aggregator.js';
import { createEvaluator, type Evaluator, type EvaluatorOptions } from '../evaluator.js';
import { buildReport } from '../report/build.js';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { controllableStore, eventually, memoryLogger, tempStore } from '../testing/harness.js';

const SWEEP = 'restart';
let nats: RunningServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  nats = await startNats();
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await nats?.stop();
});

async function total(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);
}

async function evaluatorOn(
  store: ObjectStore,
  durable: string,
  over: Partial<EvaluatorOptions> = {},
  timeoutMs = 5_000,
): Promise<{ evaluator: Evaluator; bus: NatsBus; registry: Registry }> {
  const bus = await connectNatsBus({ url: nats.url, name: durable, timeoutMs });
  const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
  const evaluator = createEvaluator({
    bus,
    store,
    registry,
    logger: memoryLogger('error').logger,
    durable,
    filter: NATS.sweepSubjects(SWEEP),
    ackWaitMs: 1000,
    sampleImages: false,
    ...over,
  });
  await evaluator.start();
  cleanups.push(async () => {
    await evaluator.stop().catch(() => undefined);
    await bus.close();
  });
  return { evaluator, bus, registry };
}

async function ended(evaluator: Evaluator, store: ObjectStore): Promise<SweepReport> {
  return eventually(async () => {
    const report = await evaluator.report(SWEEP);
    return report?.phase === 'Succeeded' && (await store.head(`${keys.report(SWEEP)}/report.json`))
      ? report
      : undefined;
  }, 'the sweep to end');
}

describe('evaluator restart', () => {
  it('serves after a kill mid-sweep and a restart the report an uninterrupted evaluator serves', async () => {
    const events = handBuiltSweep(SWEEP);
    const [first, second] = [events.slice(0, 9), events.slice(9)];
    const { store: files, cleanup } = await tempStore();
    const { store: refFiles, cleanup: refCleanup } = await tempStore();
    cleanups.push(cleanup, refCleanup);
    for (const s of [files, refFiles]) await s.put(keys.sweepSpec(SWEEP), JSON.stringify(sweepSpec(SWEEP)));
    const publisher = await connectNatsBus({ url: nats.url, name: 'trainer' });
    cleanups.push(() => publisher.close());

    // The uninterrupted one, on its own durable and store.
    const uninterrupted = await evaluatorOn(refFiles, 'evaluator-reference');
    // The one that dies: commits (and acks) every 5 events, the rest waits for a flush that never comes.
    const doomed = controllableStore(files);
    // (A short NATS timeout: its acks after the kill give up quickly.)
    const a = await evaluatorOn(doomed.store, 'evaluator', { batchSize: 5, flushIntervalMs: 60_000 }, 300);

    let stored = 0; // the replayed trial.started of mobilenet's attempt 2 is dropped by the stream
    for (const e of first) if (!(await publisher.publish(e)).duplicate) stored++;
    await eventually(
      async () => ((await total(a.registry, 'fersweep_evaluator_events_total')) === stored ? true : undefined),
      'the first events to be applied',
    );
    // The kill: the connection goes first, so the commit of the last 4 events reaches the store but
    // their acks never reach the server (the worst moment: committed, not acked); then the store.
    a.bus.connection.close();
    await a.evaluator.flush();
    doomed.sever();

    for (const e of second) await publisher.publish(e);
    const b = await evaluatorOn(files, 'evaluator');
    const restarted = await ended(b.evaluator, files);
    const reference = await ended(uninterrupted.evaluator, refFiles);

    expect(restarted).toEqual(reference);
    expect(JSON.parse((await files.get(`${keys.report(SWEEP)}/report.json`)).toString('utf8'))).toEqual(reference);
    // …which is the report of every event counted exactly once.
    const once = new SweepAggregator(SWEEP as SweepId);
    const spec = SweepSpec.parse(sweepSpec(SWEEP));
    once.setPlan(expandTrials(spec), spec.spec.retries);
    for (const e of events) once.apply(e);
    expect(restarted).toEqual(buildReport(once.snapshot()));
    expect(restarted.trials.map((t) => t.history.length)).toEqual([3, 3]);
    // The committed-but-unacked events (those after the last full batch of 5) come back (after the
    // ack wait, possibly after the report already ended) and are recognised as duplicates.
    await eventually(
      async () =>
        (await total(b.registry, 'fersweep_evaluator_duplicate_events_total')) >= stored - 5 ? true : undefined,
      'the unacked events to be redelivered and recognised',
    );
  });
});
