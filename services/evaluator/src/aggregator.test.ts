import { describe, expect, it } from '@jest/globals';
import { expandTrials, SweepSpec, type SweepId, type TrialEvent } from '@fersweep/contracts';
import { SweepAggregator, type SweepSnapshot } from './aggregator.js';
import { event, evaluatedBody, handBuiltSweep, LABELS, shuffled, sweepSpec } from './testing/fixtures.js';

const S = 'cmp' as SweepId;

function aggregate(events: readonly TrialEvent[], plan = false): SweepAggregator {
  const a = new SweepAggregator(S);
  if (plan) {
    const spec = SweepSpec.parse(sweepSpec(S));
    a.setPlan(expandTrials(spec), spec.spec.retries);
  }
  for (const e of events) a.apply(e);
  return a;
}

/** Everything but the change counter, which depends on how many copies arrived. */
const comparable = (s: SweepSnapshot) => ({ ...s, version: 0 });

describe('SweepAggregator', () => {
  it('aggregates each trial: history, best epoch, final epoch, train–val gap and the test split, exactly', () => {
    const s = aggregate(handBuiltSweep(S)).snapshot();
    expect(s.trials.map((t) => t.trial)).toEqual(['cnn', 'mobilenet']);
    const [cnn, mobilenet] = s.trials;

    expect(cnn!.history.map((h) => [h.epoch, h.accuracy, h.valAccuracy])).toEqual([
      [1, 0.5, 0.4],
      [2, 0.8, 0.6],
      [3, 0.96, 0.64],
    ]);
    expect(cnn!.bestEpoch).toEqual({ epoch: 3, loss: 0.2, accuracy: 0.96, valLoss: 1.0, valAccuracy: 0.64 });
    expect(cnn!.gap!.epoch).toBe(3);
    expect(cnn!.gap!.accuracy).toBeCloseTo(0.32, 12);
    expect(cnn!.gap!.loss).toBeCloseTo(0.8, 12);
    expect(cnn!.model).toBe('cnn');
    expect(cnn!.modelUri).toBe('file:///models/cmp/cnn/');

    const test = cnn!.test!;
    expect(test.images).toBe(14);
    expect(test.correct).toBe(12);
    expect(test.accuracy).toBeCloseTo(12 / 14, 12);
    expect(test.accuracyInterval.lower).toBeCloseTo(0.6005862050302965, 12);
    expect(test.accuracyInterval.upper).toBeCloseTo(0.9599060787285351, 12);
    expect(test.accuracyInterval.confidence).toBe(0.95);
    expect(test.macroF1).toBeCloseTo(0.8476190476190476, 12);
    expect(test.weightedF1).toBeCloseTo(0.8476190476190476, 12);
    expect(test.confusionMatrix[1]).toEqual([1, 1, 0, 0, 0, 0, 0]);
    expect(test.normalizedConfusionMatrix[2]).toEqual([0, 0, 0.5, 0, 0.5, 0, 0]);
    expect(test.perClass.map((c) => [c.class, c.precision, c.recall, c.f1, c.support])).toEqual([
      ['angry', 2 / 3, 1, 0.8, 2],
      ['disgust', 1, 0.5, 2 / 3, 2],
      ['fear', 1, 0.5, 2 / 3, 2],
      ['happy', 1, 1, 1, 2],
      ['sad', 2 / 3, 1, 0.8, 2],
      ['surprise', 1, 1, 1, 2],
      ['neutral', 1, 1, 1, 2],
    ]);

    // mobilenet: best epoch from trial.completed (2), not the last; the replayed started of attempt 2 is a duplicate.
    expect(mobilenet!.bestEpoch!.epoch).toBe(2);
    expect(mobilenet!.final!.epoch).toBe(3);
    expect(mobilenet!.gap!.accuracy).toBeCloseTo(0.5, 12);
    expect(mobilenet!.attempt).toBe(2);
    expect(mobilenet!.test!.accuracy).toBeCloseTo(8 / 14, 12);
    expect(mobilenet!.test!.macroF1).toBeCloseTo(0.49115646258503404, 12);
    expect(mobilenet!.test!.accuracyInterval.lower).toBeCloseTo(0.3259064457965075, 12);
    expect(mobilenet!.failures).toEqual([
      expect.objectContaining({ attempt: 1, code: 'Interrupted', retryable: true, exitCode: 75, epoch: 2 }),
    ]);
    expect(s.predictions.get('cnn')!.test!.labels).toEqual(LABELS);
  });

  it('counts each event once: a second copy (same id) is a duplicate and changes nothing', () => {
    const events = handBuiltSweep(S);
    const a = aggregate(events);
    const before = a.snapshot();
    for (const e of events) expect(a.apply(e)).toEqual({ changed: false, duplicate: true });
    expect(a.snapshot()).toBe(before);
    expect(a.events('cnn')).toHaveLength(6);
  });

  it('gives the same picture whatever order the events arrive in, redeliveries included', () => {
    const events = handBuiltSweep(S);
    const reference = comparable(aggregate(events, true).snapshot());
    for (const seed of [1, 2, 3, 42, 1234]) {
      const order = shuffled([...events, ...shuffled(events, seed + 7).slice(0, 6)], seed);
      expect(comparable(aggregate(order, true).snapshot())).toEqual(reference);
    }
  });

  it('keeps the earlier attempt of a fact replayed by a retry, in either order', () => {
    const first = event(S, 't', 'trial.epoch', {
      epoch: 4,
      loss: 1,
      accuracy: 0.5,
      valLoss: 1,
      valAccuracy: 0.5,
      learningRate: 0.001,
      imagesPerSecond: 1,
      seconds: 1,
    });
    const replay = { ...first, attempt: 2, accuracy: 0.9, time: '2030-01-01T00:00:00.000Z' };
    const a = aggregate([first, replay]);
    const b = aggregate([replay, first]);
    expect(a.snapshot().trials[0]!.history[0]!.accuracy).toBe(0.5);
    expect(comparable(b.snapshot())).toEqual(comparable(a.snapshot()));
    expect(new SweepAggregator(S).apply(replay)).toEqual({ changed: true, duplicate: false });
  });

  describe('trial phases', () => {
    const base = handBuiltSweep(S).filter((e) => e.trial === 'mobilenet');
    const completed = base.find((e) => e.type === 'trial.completed')!;
    const failedRetryable = base.find((e) => e.type === 'trial.failed')!;
    const phaseOf = (events: TrialEvent[], plan = false) =>
      aggregate(events, plan)
        .snapshot()
        .trials.find((t) => t.trial === 'mobilenet')!.phase;

    it('is Succeeded after a retryable failure followed by completion', () => {
      expect(phaseOf(base)).toBe('Succeeded');
    });
    it('is Succeeded when an older attempt’s failure arrives after completion', () => {
      expect(phaseOf([completed, failedRetryable])).toBe('Succeeded');
      const lateFailure = event(S, 'mobilenet', 'trial.failed', {
        reason: 'x',
        code: 'Crashed',
        retryable: true,
        exitCode: 1,
      });
      expect(phaseOf([...base, lateFailure])).toBe('Succeeded');
    });
    it('is Pending while a retryable failure of the latest attempt waits for a retry', () => {
      expect(phaseOf(base.slice(0, 4))).toBe('Pending');
    });
    it('is Running once a later attempt reports', () => {
      expect(phaseOf(base.filter((e) => e.type !== 'trial.completed'))).toBe('Running');
    });
    it('is Failed on a permanent failure', () => {
      const permanent = event(
        S,
        'mobilenet',
        'trial.failed',
        { reason: 'bad params', code: 'InvalidSpec', retryable: false, exitCode: 42 },
        { attempt: 2 },
      );
      expect(phaseOf([...base.slice(0, 4), permanent])).toBe('Failed');
    });
    it('is Failed when the retryable failures exceed the spec’s retries', () => {
      const failures = [1, 2, 3, 4].map((attempt) =>
        event(
          S,
          'mobilenet',
          'trial.failed',
          { reason: 'oom', code: 'Crashed', retryable: true, exitCode: 1 },
          { attempt },
        ),
      );
      expect(phaseOf(failures.slice(0, 3), true)).toBe('Pending');
      expect(phaseOf(failures, true)).toBe('Failed'); // retries: 3 (the default)
      expect(phaseOf(failures, false)).toBe('Pending'); // without the spec the budget is unknown
    });
    it('is Pending for a planned trial without events', () => {
      expect(
        aggregate([], true)
          .snapshot()
          .trials.map((t) => [t.trial, t.phase, t.model]),
      ).toEqual([
        ['cnn', 'Pending', 'cnn'],
        ['mobilenet', 'Pending', 'mobilenetv2'],
      ]);
    });
  });

  describe('sweep phase', () => {
    it('ends only when the trial list is known: from the spec, or by finalize()', () => {
      const events = handBuiltSweep(S);
      const unplanned = aggregate(events);
      expect(unplanned.snapshot().phase).toBe('Running');
      expect(unplanned.snapshot().ended).toBe(false);
      expect(unplanned.finalize()).toBe(true);
      expect(unplanned.finalize()).toBe(false);
      expect(unplanned.snapshot()).toMatchObject({ phase: 'Succeeded', ended: true, finalized: true });

      const planned = aggregate(events, true);
      expect(planned.snapshot()).toMatchObject({ phase: 'Succeeded', ended: true, expectedTrials: 2 });
      expect(aggregate(events.slice(0, -1), true).snapshot().phase).toBe('Running');
      expect(aggregate([], true).snapshot().phase).toBe('Pending');
    });
    it('does not end while a succeeded trial misses an epoch (an evaluator crash: redelivered after the ack wait)', () => {
      // Issue 12 (test/faults): the evaluator died between applying cnn's epoch 1 and committing it;
      // after its restart the later events arrived first and the report ended without epoch 1.
      const events = handBuiltSweep(S);
      const lost = events.find((e) => e.trial === 'cnn' && e.type === 'trial.epoch' && e.epoch === 1)!;
      const a = aggregate(
        events.filter((e) => e !== lost),
        true,
      );
      expect(a.snapshot().trials.find((t) => t.trial === 'cnn')!.phase).toBe('Succeeded');
      expect(a.snapshot()).toMatchObject({ phase: 'Running', ended: false });
      a.apply(lost);
      expect(a.snapshot()).toMatchObject({ phase: 'Succeeded', ended: true });
      // The last epoch missing is a gap too (cnn did not stop early: 3 epochs asked for).
      const last = events.find((e) => e.trial === 'cnn' && e.type === 'trial.epoch' && e.epoch === 3)!;
      expect(
        aggregate(
          events.filter((e) => e !== last),
          true,
        ).snapshot().ended,
      ).toBe(false);
    });
    it('a trial the scheduler stopped is Stopped with its epochs, and ends the sweep without finalize()', () => {
      // mobilenet stopped at rung 1 after its epoch 1; its interrupted attempt reported a retryable failure.
      const events = handBuiltSweep(S).filter(
        (e) => e.trial === 'cnn' || (e.type === 'trial.epoch' && e.epoch === 1) || e.type === 'trial.started',
      );
      const sigterm = event(S, 'mobilenet', 'trial.failed', {
        reason: 'stopped by SIGTERM',
        code: 'Interrupted',
        retryable: true,
        exitCode: 75,
      });
      const stop = event(S, 'mobilenet', 'trial.stopped', {
        epoch: 1,
        rung: 1,
        threshold: 0.6,
        reason: 'valAccuracy 0.3 is outside the top 1/3 (cutoff 0.6) at epoch 1',
      });
      const before = aggregate([...events, sigterm], true).snapshot();
      expect(before.trials[1]!.phase).toBe('Pending');
      expect(before.ended).toBe(false);
      const s = aggregate([...events, sigterm, stop], true).snapshot();
      const stopped = s.trials[1]!;
      expect(stopped.phase).toBe('Stopped');
      expect(stopped.stopped).toEqual({ epoch: 1, rung: 1, threshold: 0.6, reason: stop.reason });
      expect(stopped.history.map((h) => h.epoch)).toEqual([1]);
      expect(stopped.test).toBeNull();
      expect(s).toMatchObject({ phase: 'Succeeded', ended: true, finalized: false });
      expect(s.trials[0]!.stopped).toBeNull();
    });
    it('is Failed when every trial failed', () => {
      const fail = (trial: string) =>
        event(S, trial, 'trial.failed', { reason: 'no data', code: 'DatasetMissing', retryable: false, exitCode: 43 });
      expect(aggregate([fail('cnn'), fail('mobilenet')], true).snapshot().phase).toBe('Failed');
    });
  });

  it('refuses an evaluation whose confusion matrix contradicts its labels and predictions', () => {
    const body = evaluatedBody('test', LABELS, LABELS);
    const bad = event(S, 'cnn', 'trial.evaluated', {
      ...body,
      confusionMatrix: body.confusionMatrix.map((row, i) => (i === 0 ? [1, 1, 0, 0, 0, 0, 0] : row)),
    });
    const a = new SweepAggregator(S);
    expect(a.apply(bad)).toEqual({
      changed: false,
      duplicate: false,
      invalid: expect.stringContaining('does not match its labels'),
    });
    expect(a.snapshot().trials).toEqual([]);
    const elsewhere = { ...handBuiltSweep('other')[0]! };
    expect(a.apply(elsewhere).invalid).toContain("sweep 'other'");
  });
});
