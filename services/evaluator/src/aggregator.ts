/**
 * The sweep state machine: trial events in, a consistent picture of the sweep out. Pure (no I/O,
 * no clock) and independent of delivery order: every event has a slot (started, epoch N, evaluated
 * on a split, completed, failed in attempt N), the same event delivered twice is counted once, and
 * phases are derived from the set of events, never from the order they arrived in.
 */
import {
  EMOTIONS,
  epochRecordOf,
  missingEpochs,
  type EpochMetrics,
  type EpochRecord,
  type EvaluatedSplit,
  type SelectionRule,
  type SplitReport,
  type SweepId,
  type SweepPhase,
  type TrialCompleted,
  type TrialEpoch,
  type TrialEvaluated,
  type TrialEvent,
  type TrialFailed,
  type TrialId,
  type TrialPhase,
  type TrialReport,
  type TrialStarted,
  type TrialStopped,
} from '@fersweep/contracts';
import { confusionMatrix, rowNormalize, summarize, wilsonInterval } from '@fersweep/evaluation';

/** Confidence of the accuracy intervals in reports. */
export const ACCURACY_CONFIDENCE = 0.95;
const Z_95 = 1.959963984540054;

/** What {@link SweepAggregator.apply} did with one event. */
export interface ApplyResult {
  /** The sweep's picture changed (a new fact, or a preferred copy of a known one). */
  changed: boolean;
  /** The event (its id, or its slot) was already known: a redelivery or a replay by a retried trial. */
  duplicate: boolean;
  /** Set when the event is schema-valid but not usable (wrong sweep, inconsistent numbers): nothing was applied. */
  invalid?: string;
}

/** A trial the sweep plans, as its spec expands (contracts `expandTrials`). */
export interface PlannedTrial {
  trial: string;
  variant: string;
  model: string;
  params: Record<string, unknown>;
  epochs: number;
  seed?: number;
  /** Seed replicate index (TrialSpec `replicate`), when the sweep has replicates. */
  replicate?: number;
}

/** Labels and predictions of one evaluated split, in split order: McNemar's paired input. */
export interface PairedPredictions {
  labels: readonly number[];
  predictions: readonly number[];
}

/** The aggregate of a sweep at one version: per-trial reports plus what the comparison needs. */
export interface SweepSnapshot {
  sweep: SweepId;
  /** Bumped by every change; equal versions mean equal snapshots. */
  version: number;
  phase: SweepPhase;
  /** True once the phase is terminal (Succeeded or Failed): the report is final. */
  ended: boolean;
  expectedTrials: number | null;
  finalized: boolean;
  classes: string[];
  updatedAt: string | null;
  /** In trial id order. */
  trials: TrialReport[];
  /** Per trial, per evaluated split. */
  predictions: ReadonlyMap<string, Partial<Record<EvaluatedSplit, PairedPredictions>>>;
  /** Per trial, the dataset URL its `trial.started` named (where sample images live). */
  datasets: ReadonlyMap<string, string>;
  /** From the spec (`setPlan`); null before the spec is known (the report uses its default). */
  selection: SelectionRule | null;
}

interface TrialState {
  trial: string;
  /** slot → the event that fills it. */
  slots: Map<string, TrialEvent>;
}

/** The slot an event fills: one per fact, so that a replayed fact lands in the same place. */
export function slotOf(e: TrialEvent): string {
  switch (e.type) {
    case 'trial.epoch':
      return `epoch:${e.epoch}`;
    case 'trial.evaluated':
      return `evaluated:${e.split}`;
    case 'trial.failed':
      return `failed:${e.attempt}`;
    default:
      return e.type.slice('trial.'.length);
  }
}

/**
 * Which of two copies of one fact to keep, whatever order they arrive in: the earlier attempt,
 * then the earlier time, then the smaller serialization. JetStream keeps the first one stored
 * (`Nats-Msg-Id` dedupe), which is the earlier attempt too.
 */
function precedes(a: TrialEvent, b: TrialEvent): boolean {
  if (a.attempt !== b.attempt) return a.attempt < b.attempt;
  if (a.time !== b.time) return a.time < b.time;
  return JSON.stringify(a) < JSON.stringify(b);
}

function sameMatrix(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): boolean {
  return a.length === b.length && a.every((row, i) => row.every((v, j) => v === b[i]?.[j]));
}

/** Why an event that passed its schema still cannot be used, or undefined when it can. */
function problemOf(e: TrialEvent, sweep: string): string | undefined {
  if (e.sweep !== sweep) return `event of sweep '${e.sweep}' given to the aggregator of '${sweep}'`;
  if (e.type !== 'trial.evaluated') return undefined;
  const total = e.confusionMatrix.reduce((s, row) => s + row.reduce((x, v) => x + v, 0), 0);
  if (total === 0) return `trial.evaluated on '${e.split}' has an empty confusion matrix`;
  if (e.labels.length > 0) {
    if (e.labels.length !== total)
      return `trial.evaluated on '${e.split}' has ${e.labels.length} labels but its confusion matrix counts ${total}`;
    if (!sameMatrix(confusionMatrix(e.labels, e.predictions, e.confusionMatrix.length), e.confusionMatrix))
      return `trial.evaluated on '${e.split}': its confusion matrix does not match its labels and predictions`;
  }
  return undefined;
}

const pickEpoch = (e: EpochRecord): EpochMetrics => ({
  epoch: e.epoch,
  loss: e.loss,
  accuracy: e.accuracy,
  valLoss: e.valLoss,
  valAccuracy: e.valAccuracy,
});

/** The report of one evaluated split: every number from its confusion matrix. */
export function splitReport(e: TrialEvaluated): SplitReport {
  const classes = e.perClass.map((c) => c.class);
  const summary = summarize(e.confusionMatrix, classes);
  const correct = e.confusionMatrix.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  const interval = wilsonInterval(correct, summary.support, Z_95);
  return {
    split: e.split,
    images: summary.support,
    correct,
    accuracy: summary.accuracy,
    accuracyInterval: { lower: interval.lower, upper: interval.upper, confidence: ACCURACY_CONFIDENCE },
    macroF1: summary.macroF1,
    weightedF1: summary.weightedF1,
    loss: e.loss,
    confusionMatrix: e.confusionMatrix.map((row) => [...row]),
    normalizedConfusionMatrix: rowNormalize(e.confusionMatrix),
    perClass: summary.perClass,
    samples: e.samples,
  };
}

const TERMINAL: ReadonlySet<TrialPhase> = new Set(['Succeeded', 'Failed', 'Stopped']);

/**
 * One sweep's aggregate. `apply` every event (any order, any number of times); `snapshot()` is the
 * same for the same set of events. Tell it the sweep's trial list (`setPlan`, from the sweep spec)
 * or `finalize()` it so it can tell when the sweep has ended.
 */
export class SweepAggregator {
  readonly sweep: SweepId;
  #trials = new Map<string, TrialState>();
  /** event id → `<trial>/<slot>` of the event kept under that id. */
  #ids = new Map<string, string>();
  #plan: Map<string, PlannedTrial> | undefined;
  #retries: number | undefined;
  #selection: SelectionRule | null = null;
  #finalized = false;
  #version = 0;
  #snapshot: SweepSnapshot | undefined;

  constructor(sweep: SweepId) {
    this.sweep = sweep;
  }

  /** Bumped by every change. */
  get version(): number {
    return this.#version;
  }

  get finalized(): boolean {
    return this.#finalized;
  }

  /** Whether the trial list is known (from the spec). */
  get planned(): boolean {
    return this.#plan !== undefined;
  }

  /** Trials with at least one event, in id order. */
  trialIds(): string[] {
    return [...this.#trials.keys()].sort();
  }

  /** The events kept for a trial (one per slot), in id order: what a restart replays. */
  events(trial: string): TrialEvent[] {
    const state = this.#trials.get(trial);
    return state ? [...state.slots.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : [];
  }

  /**
   * Applies one event. A known id, or a filled slot, is a duplicate: ignored unless this copy is
   * the one to keep (see `precedes`), so the result never depends on delivery order.
   */
  apply(event: TrialEvent): ApplyResult {
    const problem = problemOf(event, this.sweep);
    if (problem) return { changed: false, duplicate: false, invalid: problem };
    const slot = slotOf(event);
    const where = `${event.trial}/${slot}`;
    const seenAt = this.#ids.get(event.id);
    // The same id for another fact: the bus would have dropped it as a duplicate, and so do we.
    if (seenAt !== undefined && seenAt !== where) return { changed: false, duplicate: true };
    let state = this.#trials.get(event.trial);
    if (!state) {
      state = { trial: event.trial, slots: new Map() };
      this.#trials.set(event.trial, state);
    }
    const kept = state.slots.get(slot);
    if (kept && !precedes(event, kept)) return { changed: false, duplicate: true };
    if (kept) this.#ids.delete(kept.id);
    state.slots.set(slot, event);
    this.#ids.set(event.id, where);
    this.#touch();
    return { changed: true, duplicate: kept !== undefined };
  }

  /**
   * Sets the sweep's trial list, retry budget and selection rule (from its spec); true when that
   * changed anything.
   */
  setPlan(trials: readonly PlannedTrial[], retries: number, selection: SelectionRule | null = null): boolean {
    const next = new Map(trials.map((t) => [t.trial, t]));
    if (
      this.#plan &&
      this.#retries === retries &&
      JSON.stringify(this.#selection) === JSON.stringify(selection) &&
      JSON.stringify([...this.#plan]) === JSON.stringify([...next])
    )
      return false;
    this.#plan = next;
    this.#retries = retries;
    this.#selection = selection;
    this.#touch();
    return true;
  }

  /** Declares the sweep over (no more trials coming): the phase becomes terminal. */
  finalize(): boolean {
    if (this.#finalized) return false;
    this.#finalized = true;
    this.#touch();
    return true;
  }

  #touch(): void {
    this.#version++;
    this.#snapshot = undefined;
  }

  /** The sweep's aggregate (cached until the next change). */
  snapshot(): SweepSnapshot {
    this.#snapshot ??= this.#build();
    return this.#snapshot;
  }

  #build(): SweepSnapshot {
    const ids = [...new Set([...this.#trials.keys(), ...(this.#plan?.keys() ?? [])])].sort();
    const predictions = new Map<string, Partial<Record<EvaluatedSplit, PairedPredictions>>>();
    const datasets = new Map<string, string>();
    let classes: string[] | undefined;
    const trials = ids.map((id) => {
      const state = this.#trials.get(id);
      const report = this.#trialReport(id, state);
      const paired: Partial<Record<EvaluatedSplit, PairedPredictions>> = {};
      for (const e of state?.slots.values() ?? []) {
        if (e.type === 'trial.evaluated') {
          paired[e.split] = { labels: e.labels, predictions: e.predictions };
          classes ??= e.perClass.map((c) => c.class);
        }
        if (e.type === 'trial.started' && e.dataset) datasets.set(id, e.dataset);
      }
      predictions.set(id, paired);
      return report;
    });
    const count = (phase: TrialPhase) => trials.filter((t) => t.phase === phase).length;
    const anyEvent = this.#trials.size > 0;
    // A succeeded trial with a gap in its history has events still coming (redelivered after a crash):
    // the sweep ends by itself only once they are in (an explicit finalize() still ends it).
    const allTerminal =
      trials.length > 0 && trials.every((t) => TERMINAL.has(t.phase) && missingEpochs(t).length === 0);
    let phase: SweepPhase;
    if (this.#finalized || (this.#plan !== undefined && allTerminal))
      phase = count('Succeeded') > 0 ? 'Succeeded' : 'Failed';
    else phase = anyEvent ? 'Running' : 'Pending';
    const times = trials.map((t) => t.updatedAt).filter((t): t is string => t !== null);
    return {
      sweep: this.sweep,
      version: this.#version,
      phase,
      ended: phase === 'Succeeded' || phase === 'Failed',
      expectedTrials: this.#plan?.size ?? null,
      finalized: this.#finalized,
      classes: classes ?? [...EMOTIONS],
      updatedAt: times.length ? times.reduce((a, b) => (a > b ? a : b)) : null,
      trials,
      predictions,
      datasets,
      selection: this.#selection,
    };
  }

  #trialReport(id: string, state: TrialState | undefined): TrialReport {
    const plan = this.#plan?.get(id);
    const events = [...(state?.slots.values() ?? [])];
    const started = state?.slots.get('started') as TrialStarted | undefined;
    const completed = state?.slots.get('completed') as TrialCompleted | undefined;
    const stopped = state?.slots.get('stopped') as TrialStopped | undefined;
    const history: EpochRecord[] = events
      .filter((e): e is TrialEpoch => e.type === 'trial.epoch')
      .sort((a, b) => a.epoch - b.epoch)
      .map(epochRecordOf);
    const failures = events
      .filter((e): e is TrialFailed => e.type === 'trial.failed')
      .sort((a, b) => a.attempt - b.attempt);
    const splits: TrialReport['splits'] = {};
    for (const e of events) if (e.type === 'trial.evaluated') splits[e.split] = splitReport(e);

    const last = history[history.length - 1];
    const reported = completed ? history.find((h) => h.epoch === completed.bestEpoch) : undefined;
    // Without trial.completed, the epoch with the highest val accuracy (the earliest of equals).
    const best =
      reported ??
      history.reduce<EpochRecord | undefined>(
        (b, h) => (b === undefined || h.valAccuracy > b.valAccuracy ? h : b),
        undefined,
      );
    const times = events.map((e) => e.time).sort();
    const variant =
      started?.variant ?? plan?.variant ?? [...events].sort((a, b) => (a.id < b.id ? -1 : 1))[0]?.variant ?? id;
    return {
      trial: id as TrialId,
      variant,
      model: started?.model ?? plan?.model ?? null,
      params: started?.params ?? plan?.params ?? {},
      phase: this.#phase(events, completed, failures, stopped),
      attempt: events.reduce((m, e) => Math.max(m, e.attempt), 0),
      epochs: started?.epochs ?? plan?.epochs ?? null,
      backend: started?.backend ?? null,
      device: started?.device ?? null,
      datasetSha256: started?.datasetSha256 ?? null,
      parameterCount: started?.parameterCount ?? null,
      trainImages: started?.trainImages ?? null,
      history,
      bestEpoch: best ? pickEpoch(best) : null,
      final: last ? pickEpoch(last) : null,
      gap: last
        ? { epoch: last.epoch, accuracy: last.accuracy - last.valAccuracy, loss: last.valLoss - last.loss }
        : null,
      splits,
      test: splits.test ?? null,
      stoppedEarly: completed?.stoppedEarly ?? null,
      seconds: completed?.seconds ?? null,
      modelUri: completed?.modelUri ?? null,
      failures: failures.map((f) => ({
        attempt: f.attempt,
        code: f.code,
        reason: f.reason,
        retryable: f.retryable,
        exitCode: f.exitCode,
        epoch: f.epoch ?? null,
        time: f.time,
      })),
      stopped: stopped
        ? {
            epoch: stopped.epoch,
            rung: stopped.rung ?? null,
            threshold: stopped.threshold ?? null,
            reason: stopped.reason,
          }
        : null,
      seed: started?.seed ?? plan?.seed ?? null,
      replicate: started?.replicate ?? plan?.replicate ?? null,
      startedAt: times[0] ?? null,
      updatedAt: times[times.length - 1] ?? null,
    };
  }

  /**
   * A trial's phase from its set of events: completed wins over any failure (a retry succeeded, or
   * an older attempt's failure arrived late); a permanent failure, or more retryable ones than the
   * spec allows, is Failed; a retryable failure of the latest attempt seen waits for the next one.
   */
  #phase(
    events: readonly TrialEvent[],
    completed: TrialCompleted | undefined,
    failures: TrialFailed[],
    stopped: TrialStopped | undefined,
  ): TrialPhase {
    if (completed) return 'Succeeded';
    // The scheduler's stop ends the trial, whatever its interrupted attempt reported.
    if (stopped) return 'Stopped';
    if (failures.some((f) => !f.retryable)) return 'Failed';
    if (this.#retries !== undefined && failures.length > this.#retries) return 'Failed';
    if (events.length === 0) return 'Pending';
    const latest = events.reduce((m, e) => Math.max(m, e.attempt), 0);
    return failures.some((f) => f.attempt === latest) ? 'Pending' : 'Running';
  }
}
