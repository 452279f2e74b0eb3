/**
 * A sweep whose spec lands in the store late, and whose last trial is stopped by the sweep's
 * scheduler: the evaluator reads the spec again once every trial has ended — `Stopped` counts as
 * ended — and finishes the report (it used to wait for a Succeeded/Failed that never came).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { keys, type TrialEvent } from '@fersweep/contracts';
import { createMemoryBus, type Bus } from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import type { FileStore } from '@fersweep/storage';
import { createEvaluator, type Evaluator } from './evaluator.js';
import { event, handBuiltSweep, sweepSpec } from './testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from './testing/harness.js';

let bus: Bus;
let store: FileStore;
let cleanup: () => Promise<void>;
let evaluator: Evaluator;

beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  bus = createMemoryBus();
  const { logger } = memoryLogger('error');
  const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
  evaluator = createEvaluator({ bus, store, registry, logger, flushIntervalMs: 10, sampleImages: false });
  await evaluator.start();
});

afterEach(async () => {
  await evaluator.stop();
  await bus.close();
  await cleanup();
});

describe('a sweep whose last trial is stopped', () => {
  it('ends once its spec is readable, with the stopped trial counted as ended', async () => {
    const S = 'late';
    // mobilenet never completes: the scheduler stops it after epoch 2.
    const events: TrialEvent[] = handBuiltSweep(S).filter(
      (e) => e.trial === 'cnn' || e.type === 'trial.started' || (e.type === 'trial.epoch' && e.epoch <= 2),
    );
    for (const e of events) await bus.publish(e);
    await eventually(async () => {
      const r = await evaluator.report(S);
      return r?.trials.find((t) => t.trial === 'cnn')?.phase === 'Succeeded' ? r : undefined;
    }, 'cnn to succeed');
    expect((await evaluator.report(S))!.phase).toBe('Running');

    await store.put(keys.sweepSpec(S), JSON.stringify(sweepSpec(S)));
    await bus.publish(
      event(S, 'mobilenet', 'trial.stopped', { epoch: 2, rung: 1, threshold: 0.5, reason: 'asha: below the cutoff' }),
    );
    const report = await eventually(async () => {
      const r = await evaluator.report(S);
      return r?.phase === 'Succeeded' && (await store.head(`${keys.report(S)}/report.json`)) ? r : undefined;
    }, 'the sweep to end');
    expect(report.trialCounts).toMatchObject({ succeeded: 1, stopped: 1, running: 0 });
    expect(report.expectedTrials).toBe(2);
  });
});
