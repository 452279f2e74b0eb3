/**
 * The evaluator's Prometheus metrics, on an injected Registry. Per-trial gauges are computed at
 * scrape time from the sweeps in memory (so they are never out of step with the report, and come
 * back by themselves after a restart); counters count what the consumer did. Labels are
 * low-cardinality: sweep, trial, variant, split, class, true/predicted class, phase, event type.
 */
import { TrialPhase, type TrialEventType } from '@fersweep/contracts';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SweepSnapshot } from './aggregator.js';

/** What the scrape-time gauges read. */
export interface MetricsSource {
  /** Snapshots of the sweeps in memory. */
  sweeps(): SweepSnapshot[];
  /** Consumer lag (events not yet delivered + deliveries not yet acked); undefined when not consuming. */
  lag(): Promise<number | undefined>;
}

/** The counters the consumer updates. */
export interface EvaluatorMetrics {
  /** Valid events received (duplicates included), by type. */
  readonly consumed: Counter<'type'>;
  /** Events already known (redeliveries, replays by retried trials), by type. */
  readonly duplicates: Counter<'type'>;
  /** Events that failed their schema or were inconsistent: acked and dropped. */
  readonly invalid: Counter<string>;
  /** Events refused by the launch check (unknown trial, missing/stale/forged launch): acked and dropped. */
  readonly rejected: Counter<'reason'>;
  /** Reports written to the object store. */
  readonly reportsWritten: Counter<string>;
  /** Failed attempts to write state or reports to the store (the events come back and are retried). */
  readonly storeFailures: Counter<string>;
  /**
   * Failed trial attempts (trial.failed, duplicates not counted), by sweep: what the
   * FersweepTrialAttemptsFailing alert and the Operations dashboard sum by sweep. The series of a
   * sweep starts at 0 with its first event, so that increase() sees the first failure.
   */
  readonly failedAttempts: Counter<'sweep'>;
}

const TRIAL = ['sweep', 'trial', 'variant'] as const;

/** Registers every evaluator metric on `registry` (never the global one). */
export function createEvaluatorMetrics(registry: Registry, source: MetricsSource): EvaluatorMetrics {
  const registers = [registry];
  const perTrial = <L extends string>(
    name: string,
    help: string,
    extra: readonly L[],
    fill: (g: Gauge<L | (typeof TRIAL)[number]>, s: SweepSnapshot) => void,
  ) => {
    const gauge: Gauge<L | (typeof TRIAL)[number]> = new Gauge({
      name,
      help,
      labelNames: [...TRIAL, ...extra],
      registers,
      collect() {
        gauge.reset();
        for (const s of source.sweeps()) fill(gauge, s);
      },
    });
    return gauge;
  };

  perTrial('fersweep_trial_epoch', 'Latest epoch a trial reported.', [], (g, s) => {
    for (const t of s.trials) if (t.final) g.set({ sweep: s.sweep, trial: t.trial, variant: t.variant }, t.final.epoch);
  });
  perTrial('fersweep_trial_epochs_planned', 'Epochs a trial was asked to train.', [], (g, s) => {
    for (const t of s.trials)
      if (t.epochs !== null) g.set({ sweep: s.sweep, trial: t.trial, variant: t.variant }, t.epochs);
  });
  perTrial('fersweep_trial_loss', 'Loss of the latest epoch (split: train or val).', ['split'], (g, s) => {
    for (const t of s.trials) {
      if (!t.final) continue;
      const l = { sweep: s.sweep, trial: t.trial, variant: t.variant };
      g.set({ ...l, split: 'train' }, t.final.loss);
      g.set({ ...l, split: 'val' }, t.final.valLoss);
    }
  });
  perTrial(
    'fersweep_trial_accuracy_ratio',
    'Accuracy of the latest epoch (split: train or val).',
    ['split'],
    (g, s) => {
      for (const t of s.trials) {
        if (!t.final) continue;
        const l = { sweep: s.sweep, trial: t.trial, variant: t.variant };
        g.set({ ...l, split: 'train' }, t.final.accuracy);
        g.set({ ...l, split: 'val' }, t.final.valAccuracy);
      }
    },
  );
  perTrial('fersweep_trial_images_per_second', 'Training throughput of the latest epoch.', [], (g, s) => {
    for (const t of s.trials) {
      const last = t.history[t.history.length - 1];
      if (last) g.set({ sweep: s.sweep, trial: t.trial, variant: t.variant }, last.imagesPerSecond);
    }
  });

  type Split = NonNullable<SweepSnapshot['trials'][number]['splits']['test']>;
  const eachSplit = (
    s: SweepSnapshot,
    fn: (labels: Record<'sweep' | 'trial' | 'variant' | 'split', string>, r: Split) => void,
  ) => {
    for (const t of s.trials)
      for (const r of Object.values(t.splits))
        if (r) fn({ sweep: s.sweep, trial: t.trial, variant: t.variant, split: r.split }, r);
  };
  perTrial(
    'fersweep_trial_evaluation_accuracy_ratio',
    'Accuracy of the final model on an evaluated split.',
    ['split'],
    (g, s) => eachSplit(s, (l, r) => g.set(l, r.accuracy)),
  );
  perTrial(
    'fersweep_trial_evaluation_macro_f1_ratio',
    'Macro F1 of the final model on an evaluated split.',
    ['split'],
    (g, s) => eachSplit(s, (l, r) => g.set(l, r.macroF1)),
  );
  perTrial(
    'fersweep_trial_evaluation_weighted_f1_ratio',
    'Support-weighted F1 of the final model on an evaluated split.',
    ['split'],
    (g, s) => eachSplit(s, (l, r) => g.set(l, r.weightedF1)),
  );
  for (const [field, what] of [
    ['precision', 'Precision'],
    ['recall', 'Recall'],
    ['f1', 'F1'],
  ] as const) {
    perTrial(
      `fersweep_trial_class_${field}_ratio`,
      `${what} per class of the final model on an evaluated split.`,
      ['split', 'class'],
      (g, s) =>
        eachSplit(s, (l, r) => {
          for (const c of r.perClass) g.set({ ...l, class: c.class }, c[field]);
        }),
    );
  }
  perTrial(
    'fersweep_trial_confusion_images',
    'Confusion-matrix cell of the final model on an evaluated split: images of class `true` predicted as `predicted`.',
    ['split', 'true', 'predicted'],
    (g, s) =>
      eachSplit(s, (l, r) =>
        r.confusionMatrix.forEach((row, t) =>
          row.forEach((count, p) =>
            g.set({ ...l, true: s.classes[t] ?? String(t), predicted: s.classes[p] ?? String(p) }, count),
          ),
        ),
      ),
  );

  const phases = new Gauge<'sweep' | 'phase'>({
    name: 'fersweep_sweep_trials',
    help: 'Trials of a sweep by phase (Pending, Running, Succeeded, Failed).',
    labelNames: ['sweep', 'phase'],
    registers,
    collect() {
      phases.reset();
      for (const s of source.sweeps())
        for (const phase of TrialPhase.options)
          phases.set({ sweep: s.sweep, phase }, s.trials.filter((t) => t.phase === phase).length);
    },
  });
  const lag = new Gauge({
    name: 'fersweep_evaluator_consumer_lag_events',
    help: 'Trial events not yet processed by the evaluator: not yet delivered plus delivered and not yet acked.',
    registers,
    async collect() {
      const n = await source.lag().catch(() => undefined);
      if (n === undefined) lag.reset();
      else lag.set(n);
    },
  });

  const consumed = new Counter<'type'>({
    name: 'fersweep_evaluator_events_total',
    help: 'Valid trial events received, duplicates included.',
    labelNames: ['type'],
    registers,
  });
  const duplicates = new Counter<'type'>({
    name: 'fersweep_evaluator_duplicate_events_total',
    help: 'Trial events ignored as already known (redeliveries, replays by retried trials).',
    labelNames: ['type'],
    registers,
  });
  for (const type of [
    'trial.started',
    'trial.epoch',
    'trial.evaluated',
    'trial.completed',
    'trial.failed',
  ] satisfies TrialEventType[]) {
    consumed.inc({ type }, 0);
    duplicates.inc({ type }, 0);
  }
  const rejected = new Counter({
    name: 'fersweep_evaluator_events_rejected_total',
    help: "Trial events dropped because they do not carry the trial's current launch (unknown trial, missing, stale or forged launch).",
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['UnknownTrial', 'MissingLaunch', 'StaleLaunch', 'ForgedLaunch']) rejected.inc({ reason }, 0);
  return {
    consumed,
    duplicates,
    rejected,
    invalid: new Counter({
      name: 'fersweep_evaluator_invalid_events_total',
      help: 'Messages on the trial subjects that are not valid trial events: counted, logged, acked and dropped.',
      registers,
    }),
    failedAttempts: new Counter({
      name: 'fersweep_sweep_failed_attempts_total',
      help: 'Failed trial attempts (trial.failed events, duplicates not counted) by sweep, retries included.',
      labelNames: ['sweep'],
      registers,
    }),
    reportsWritten: new Counter({
      name: 'fersweep_evaluator_reports_written_total',
      help: 'Sweep reports written to the object store.',
      registers,
    }),
    storeFailures: new Counter({
      name: 'fersweep_evaluator_store_failures_total',
      help: 'Failed writes of evaluator state or reports (their events are redelivered and the write retried).',
      registers,
    }),
  };
}

/** Kept here for the evaluator's callers; createRegistry applies it already. */
export { dropLintFailingMetrics } from '@fersweep/observability';
