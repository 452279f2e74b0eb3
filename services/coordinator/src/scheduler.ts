import { createHash } from 'node:crypto';
import { DEFAULT_TENANT, keys, sweepBudget, type SweepSpec, type TrialEvent } from '@fersweep/contracts';
import { LaunchVerifier, MessagingError, type Subscription } from '@fersweep/messaging';
import { SweepError } from './errors.js';
import type { LaunchStatus } from './launchers/types.js';
import { planTrialRecords, trialSpecOf } from './plan.js';
import { checkSweepName, defaultAdmission } from './tenancy/admission.js';
import type { SweepState } from './state.js';
import { TERMINAL_TRIAL, type SweepRecord, type TrialRecord } from './state.js';
import { validateSweep } from './validate.js';
import { stopEvent, SweepStopping, type StopRecord } from './stopping.js';
import { needsSuggestion, SweepSearch, tpeParamsCheck } from './suggest.js';
import { recordLaunch } from './launches.js';
import { applyTrialEvent } from './trial-events.js';
import { ENDED_PHASES, purgeSweep } from './retention.js';
import { canonical, type SchedulerDeps, type SubmitOptions, type SubmitResult } from './scheduler-types.js';

export { SweepError };
export type { SchedulerDeps, SubmitOptions, SubmitResult } from './scheduler-types.js';

/**
 * Expands sweeps into trials, launches them (at most `parallelism` per sweep at once), follows
 * the launcher's status, derives sweep phases, and on start adopts what the launcher already runs
 * — a restarted coordinator continues its sweeps without duplicating a trial.
 */
export class Scheduler {
  private unwatch?: () => void;
  private events?: Subscription;
  private queue: Promise<void> = Promise.resolve();
  private readonly stopping: SweepStopping;
  /** Sweep specs by id (immutable once submitted): epoch events need the sweep's scheduler. */
  private readonly specs = new Map<string, SweepSpec>();
  /** Trial events count only with the trial's current launch (launches.ts). */
  private readonly launches: LaunchVerifier;

  private readonly search: SweepSearch;

  constructor(private readonly deps: SchedulerDeps) {
    this.stopping = new SweepStopping(deps.state);
    this.search = new SweepSearch({ state: deps.state, events: !!deps.bus, checkParams: tpeParamsCheck(deps.models) });
    this.launches = new LaunchVerifier({ kv: deps.state.kv });
  }

  /** Serialises state changes: launcher callbacks, API calls and event handling never interleave. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  async start(): Promise<void> {
    this.unwatch = await this.deps.launcher.watch(
      (s) =>
        void this.serial(() => this.onStatus(s)).catch((err: unknown) =>
          this.deps.logger.error('status update failed', { error: String(err) }),
        ),
    );
    if (this.deps.bus) {
      this.events = await this.deps.bus.consume({
        durable: 'fersweep-coordinator',
        handler: async (d) => {
          if (d.event) await this.serial(() => this.onEvent(d.event!));
        },
      });
    }
    await this.serial(() => this.reconcile());
  }

  async stop(): Promise<void> {
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    this.unwatch?.();
    await this.events?.stop();
    await this.queue;
  }

  /** Validates, expands and records a sweep, then schedules it. Idempotent by name (and Idempotency-Key). */
  submit(input: unknown, options: string | SubmitOptions = {}): Promise<SubmitResult> {
    const o: SubmitOptions = typeof options === 'string' ? { idempotencyKey: options } : options;
    const idempotencyKey = o.idempotencyKey;
    const tenant = o.tenant ?? DEFAULT_TENANT;
    return this.serial(async () => {
      const { spec, plans } = validateSweep(input, this.deps.maxTrials, this.deps.models);
      const id = checkSweepName(spec.metadata.name, tenant);
      (this.deps.admission ?? defaultAdmission(this.deps.launcher.kind === 'local'))(spec, tenant);
      const specHash = createHash('sha256').update(canonical(spec)).digest('hex');
      const existing = await this.deps.state.getSweep(id);
      if (existing) {
        if (existing.specHash === specHash || (idempotencyKey && existing.idempotencyKey === idempotencyKey)) {
          return { sweep: existing, trials: await this.deps.state.trials(existing), created: false };
        }
        throw new SweepError(
          'Conflict',
          `sweep '${spec.metadata.name}' exists with a different spec: choose another metadata.name or delete it first`,
          'metadata.name',
        );
      }
      const now = new Date().toISOString();
      const trials = this.plan(id, spec, now);
      const sweep: SweepRecord = {
        id,
        spec,
        specHash,
        phase: 'Pending',
        trialIds: trials.map((t) => t.trial),
        budget: sweepBudget(spec, plans),
        createdAt: now,
        updatedAt: now,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      };
      await this.deps.store.put(keys.sweepSpec(id), JSON.stringify(spec, null, 2), { contentType: 'application/json' });
      try {
        await this.deps.state.createSweep(sweep, trials);
      } catch (err) {
        if (err instanceof MessagingError && err.code === 'Exists') {
          // Another replica won the race for this name: put its spec back over the one written
          // above (the evaluator expands trials from it); the same spec is the same sweep.
          const winner = await this.deps.state.getSweep(id);
          if (winner)
            await this.deps.store.put(keys.sweepSpec(id), JSON.stringify(winner.spec, null, 2), {
              contentType: 'application/json',
            });
          if (winner && winner.specHash === specHash)
            return { sweep: winner, trials: await this.deps.state.trials(winner), created: false };
          throw new SweepError(
            'Conflict',
            `sweep '${spec.metadata.name}' was just created by another request`,
            'metadata.name',
          );
        }
        throw err;
      }
      this.deps.logger.info('sweep submitted', { sweep: id, trials: trials.length });
      await this.schedule(id);
      const stored = (await this.deps.state.getSweep(id))!;
      return { sweep: stored, trials: await this.deps.state.trials(stored), created: true };
    });
  }

  /** The trial records a spec expands to, with this coordinator's store and dataset resolution. */
  private plan(id: string, spec: SweepSpec, now = new Date().toISOString()): TrialRecord[] {
    return planTrialRecords(spec, { ...this.planContext(id, spec, now), maxTrials: this.deps.maxTrials });
  }

  private planContext(sweepId: string, spec: SweepSpec, now = new Date().toISOString()) {
    const dataset = this.deps.resolveDataset ? this.deps.resolveDataset(spec.spec.dataset) : spec.spec.dataset;
    return { output: this.deps.store.url, dataset, now, sweepId };
  }

  /** Writes again the trial records a sweep misses (its creator died half-way, or a record was quarantined). */
  private async restoreTrials(sweep: SweepRecord): Promise<void> {
    try {
      const restored = await this.deps.state.restoreTrials(
        sweep,
        planTrialRecords(sweep.spec, this.planContext(sweep.id, sweep.spec)),
      );
      if (restored.length)
        this.deps.logger.warn('trial records were missing: restored as Pending', { sweep: sweep.id, trials: restored });
    } catch (err) {
      this.deps.logger.error('could not restore missing trial records', { sweep: sweep.id, error: String(err) });
    }
  }

  /** Cancels a sweep: stops and deletes its running trials; pending ones never start. */
  cancel(id: string): Promise<SweepRecord> {
    return this.serial(() => this.cancelNow(id));
  }

  /**
   * Purges a sweep (cancelled first when it still runs): records, scheduler state, launch records,
   * its events where the bus can, the evaluator's stored state; artifacts only with `artifacts`.
   * The name can be submitted again afterwards. See retention.ts.
   */
  purge(id: string, options: { artifacts: boolean }): Promise<void> {
    return this.serial(async () => {
      const sweep = await this.deps.state.getSweep(id);
      if (!sweep) throw new SweepError('NotFound', `no sweep '${id}'`);
      if (!ENDED_PHASES.includes(sweep.phase)) await this.cancelNow(id);
      // The launcher forgets the runs (a Job, a finished child): a reused name must launch anew.
      for (const trial of sweep.trialIds) await this.deps.launcher.cancel(id, trial);
      clearTimeout(this.retries.get(id));
      this.retries.delete(id);
      await purgeSweep(
        {
          kv: this.deps.state.kv,
          store: this.deps.store,
          logger: this.deps.logger,
          ...(this.deps.purgeEvents ? { purgeEvents: this.deps.purgeEvents } : {}),
        },
        id,
        options,
      );
      this.deps.state.forgetIndexed(id);
      this.specs.delete(id);
      this.launches.forget(id);
    });
  }

  private async cancelNow(id: string): Promise<SweepRecord> {
    const sweep = await this.deps.state.getSweep(id);
    if (!sweep) throw new SweepError('NotFound', `no sweep '${id}'`);
    if (['Succeeded', 'Failed', 'Cancelled'].includes(sweep.phase)) return sweep;
    await this.deps.state.updateSweep(id, (s) => ({
      ...s,
      phase: 'Cancelled',
      finishedAt: new Date().toISOString(),
    }));
    for (const t of await this.deps.state.trials(sweep)) {
      if (TERMINAL_TRIAL.includes(t.phase)) continue;
      await this.deps.state.updateTrial(id, t.trial, (r) => ({
        ...r,
        phase: 'Cancelled',
        finishedAt: new Date().toISOString(),
      }));
      if (t.phase !== 'Pending') await this.deps.launcher.cancel(id, t.trial);
    }
    this.deps.logger.info('sweep cancelled', { sweep: id });
    return (await this.deps.state.getSweep(id))!;
  }

  private readonly retries = new Map<string, NodeJS.Timeout>();

  /** Schedules the sweep again after a failed launch (once per sweep at a time). */
  private retryLater(id: string, delayMs = this.deps.launchRetryMs ?? 5000): void {
    if (this.retries.has(id)) return;
    const timer = setTimeout(() => {
      this.retries.delete(id);
      void this.serial(() => this.schedule(id)).catch((err: unknown) =>
        this.deps.logger.error('scheduling failed', { sweep: id, error: String(err) }),
      );
    }, delayMs);
    timer.unref();
    this.retries.set(id, timer);
  }

  /** Launches the next Pending trials of a sweep up to its parallelism, and derives its phase. */
  private async schedule(id: string): Promise<void> {
    const sweep = await this.deps.state.getSweep(id);
    if (!sweep || sweep.phase === 'Cancelled') return;
    const trials = await this.deps.state.trials(sweep);
    const active = trials.filter((t) => t.phase === 'Queued' || t.phase === 'Running').length;
    let free = sweep.spec.spec.parallelism - active;
    const waiting = new Set<string>(); // variants whose next TPE configuration waits for results
    this.search.waiting.delete(id);
    for (let i = 0; i < trials.length && free > 0; i++) {
      if (trials[i]!.phase !== 'Pending') continue;
      if (needsSuggestion(trials[i]!)) {
        if (waiting.has(trials[i]!.variant)) continue;
        if (!(await this.search.suggest(sweep.spec, trials, i))) waiting.add(trials[i]!.variant);
        if (waiting.size) this.retryLater(id, 2000); // a grace for a lost trial.completed may expire
        if (trials[i]!.phase !== 'Pending' || needsSuggestion(trials[i]!)) continue;
      }
      const t = trials[i]!;
      trials[i] = (await this.deps.state.updateTrial(id, t.trial, (r) => ({ ...r, phase: 'Queued' }))) ?? t;
      try {
        // A new run: a new launch (seq, nonce), recorded before the run can publish anything.
        const launch = await recordLaunch(this.deps.state.kv, id, t.trial);
        await this.deps.launcher.launch(
          { ...trialSpecOf(sweep.spec, t), launch },
          {
            retries: sweep.spec.spec.retries,
            deadlineSeconds: sweep.spec.spec.deadlineSeconds,
            resources: sweep.spec.spec.resources,
            ...(sweep.spec.spec.queueName ? { queueName: sweep.spec.spec.queueName } : {}),
          },
        );
      } catch (err) {
        // The API server refused or was unreachable: the trial waits as Pending and the sweep is
        // scheduled again shortly; the submission itself still succeeds.
        const message = `launch failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
        this.deps.logger.warn('launch failed: retrying', { sweep: id, trial: t.trial, error: message });
        trials[i] = (await this.deps.state.updateTrial(id, t.trial, (r) => ({ ...r, phase: 'Pending', message }))) ?? t;
        this.retryLater(id);
        break;
      }
      free--;
    }
    await this.derivePhase(sweep, trials);
  }

  /**
   * The sweep's phase from its trials as `schedule` just read and updated them: this runs in the
   * same serial task, so nothing else changed them meanwhile and they need not be read again.
   */
  private async derivePhase(sweep: SweepRecord, trials: TrialRecord[]): Promise<void> {
    const id = sweep.id;
    const allDone = trials.every((t) => TERMINAL_TRIAL.includes(t.phase));
    // A trial the scheduler stopped did what it was asked: the sweep still succeeds.
    const phase = allDone
      ? trials.every((t) => t.phase === 'Succeeded' || t.phase === 'Stopped')
        ? 'Succeeded'
        : 'Failed'
      : trials.some((t) => t.phase !== 'Pending')
        ? 'Running'
        : 'Pending';
    if (phase !== sweep.phase) {
      await this.deps.state.updateSweep(id, (s) => ({
        ...s,
        phase,
        ...(allDone ? { finishedAt: new Date().toISOString() } : {}),
      }));
      this.deps.logger.info('sweep phase', { sweep: id, phase });
    }
  }

  private async onStatus(s: LaunchStatus): Promise<void> {
    let reschedule = false;
    await this.deps.state.updateTrial(s.sweep, s.trial, (t) => {
      reschedule = false;
      if (TERMINAL_TRIAL.includes(t.phase)) return undefined; // cancelled or done: a late status changes nothing
      const phase = s.phase === 'Pending' ? 'Queued' : s.phase;
      const exitCode = s.exitCode ?? t.exitCode;
      const message = s.message || s.reason ? [s.reason, s.message].filter(Boolean).join(': ') : t.message;
      // A status that changes nothing (the watch's ADDED event of a Job just created, a relist, a Job
      // change the coordinator does not follow) writes nothing and schedules nothing.
      if (
        phase === t.phase &&
        s.attempts === t.attempts &&
        s.failures === t.failures &&
        s.preemptions === t.preemptions &&
        exitCode === t.exitCode &&
        message === t.message
      )
        return undefined;
      // Scheduling and the sweep's phase depend only on trial phases, and Queued and Running count
      // alike for both (active, not Pending, not terminal): only other phase changes re-read the sweep.
      const active = (p: string) => p === 'Queued' || p === 'Running';
      reschedule = phase !== t.phase && !(active(phase) && active(t.phase));
      return {
        ...t,
        phase,
        attempts: s.attempts,
        failures: s.failures,
        preemptions: s.preemptions,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(phase === 'Running' && !t.startedAt ? { startedAt: new Date().toISOString() } : {}),
        ...(TERMINAL_TRIAL.includes(phase) ? { finishedAt: new Date().toISOString() } : {}),
      };
    });
    if (reschedule) await this.schedule(s.sweep);
  }

  /** A trial event from the bus, applied only with the trial's current launch (trial-events.ts). */
  private onEvent(e: TrialEvent): Promise<void> {
    return applyTrialEvent(
      {
        state: this.deps.state,
        stopping: this.stopping,
        launches: this.launches,
        logger: this.deps.logger,
        ...(this.deps.onRejectedEvent ? { onRejected: this.deps.onRejectedEvent } : {}),
        specOf: (id) => this.specOf(id),
        stopTrial: (sweep, trial, stopped) => this.stopTrial(sweep, trial, stopped),
        // A TPE configuration waiting for this result can now be suggested.
        onCompleted: async (sweep) => {
          if (this.search.waiting.has(sweep)) await this.schedule(sweep);
        },
      },
      e,
    );
  }

  /** The spec of a sweep (cached: a submitted spec never changes). */
  private async specOf(id: string): Promise<SweepSpec | undefined> {
    const cached = this.specs.get(id);
    if (cached) return cached;
    const sweep = await this.deps.state.getSweep(id);
    if (sweep) this.specs.set(id, sweep.spec);
    return sweep?.spec;
  }

  /**
   * The scheduler stopped a trial: phase Stopped (terminal: late launcher statuses change nothing),
   * its run cancelled (Kubernetes: Job deleted; local: SIGTERM, the trainer checkpoints and exits),
   * its metrics so far kept, and the sweep's next trial launched in its place.
   */
  private async stopTrial(sweep: string, trial: string, stopped: StopRecord): Promise<void> {
    let was: TrialRecord['phase'] | undefined;
    const record = await this.deps.state.updateTrial(sweep, trial, (t) => {
      was = undefined;
      if (TERMINAL_TRIAL.includes(t.phase)) return undefined;
      was = t.phase;
      return { ...t, phase: 'Stopped', stopped, message: stopped.reason, finishedAt: new Date().toISOString() };
    });
    // The evaluator learns of the stop from the event log (again after a restart: the id dedupes it).
    if (record?.phase === 'Stopped' && record.stopped && this.deps.bus)
      await this.deps.bus
        .publish(stopEvent(record, record.stopped))
        .catch((err: unknown) =>
          this.deps.logger.warn('could not publish trial.stopped', { sweep, trial, error: String(err) }),
        );
    if (was === undefined) return;
    this.deps.logger.info('trial stopped by the sweep scheduler', { sweep, trial, ...stopped });
    if (was !== 'Pending') {
      try {
        await this.deps.launcher.cancel(sweep, trial);
      } catch (err) {
        this.deps.logger.warn('could not cancel a stopped trial', { sweep, trial, error: String(err) });
      }
    }
    await this.schedule(sweep);
  }

  /** After a (re)start: adopt what the launcher runs, relaunch Queued/Running trials it does not know. */
  private async reconcile(): Promise<void> {
    const known = new Map((await this.deps.launcher.list()).map((s) => [`${s.sweep}/${s.trial}`, s]));
    for (const sweep of await this.deps.state.listSweeps()) {
      if (['Succeeded', 'Failed', 'Cancelled'].includes(sweep.phase)) continue;
      await this.restoreTrials(sweep);
      const policy = sweep.spec.spec.scheduler;
      if (policy) {
        // A stop recorded but not applied (the coordinator died between the two writes).
        const variants = sweep.spec.spec.variants.map((v) => v.name);
        const stops = await this.stopping.recordedStops(sweep.id, variants, policy, sweep.spec.spec.epochs);
        for (const [trial, stopped] of stops) await this.stopTrial(sweep.id, trial, stopped);
      }
      for (const t of await this.deps.state.trials(sweep)) {
        const s = known.get(`${sweep.id}/${t.trial}`);
        if (s) await this.onStatus(s);
        else if (t.phase === 'Queued' || t.phase === 'Running') {
          await this.deps.state.updateTrial(sweep.id, t.trial, (r) => ({ ...r, phase: 'Pending' }));
        }
      }
      await this.schedule(sweep.id);
    }
  }

  get state(): SweepState {
    return this.deps.state;
  }

  logs(sweep: string, trial: string): Promise<string> {
    return this.deps.launcher.logs(sweep, trial);
  }
}
