/**
 * Where the coordinator gets a sweep's report: from the evaluator (live) and from the store (the
 * report it writes when a sweep ends). The coordinator and the evaluator follow the same trial events
 * independently, so the coordinator can see a sweep end before the evaluator has applied its last
 * events; for an ended sweep this module therefore serves only the final report, waiting for it.
 */
import { keys, missingEpochs, SweepReport } from '@fersweep/contracts';
import type { Logger } from '@fersweep/observability';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import type { SweepRecord, TrialRecord } from './state.js';

const ENDED = new Set(['Succeeded', 'Failed', 'Cancelled']);
/** How long an ended sweep's report waits for the failure events of its failed trials before finalizing. */
const FAILED_GRACE_MS = 2000;

export interface ReportReaderOptions {
  store?: ObjectStore;
  /** The evaluator's base URL (FERSWEEP_EVALUATOR_URL). */
  evaluatorUrl?: string;
  /** The bearer token sent to the evaluator (FERSWEEP_EVALUATOR_TOKEN, else the first API token). */
  evaluatorToken?: string;
  logger: Logger;
  /** How long a request for an ended sweep's report waits for the evaluator to catch up. Default 20 s. */
  waitMs?: number;
  /** Interval between looks while waiting. Default 250 ms. */
  pollMs?: number;
}

/** An ended sweep whose final report did not appear within the wait: the API answers 503 + Retry-After. */
export class ReportPendingError extends Error {
  override readonly name = 'ReportPendingError';
  readonly code = 'ReportPending';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * Trials the coordinator saw succeed that `report` does not show succeeded yet, or shows succeeded
 * with a gap in their epochs: their events were published before the trainer exited, so the
 * evaluator will apply them (an evaluator that crashed gets them again) — the report must wait.
 */
export function missingSuccesses(report: SweepReport, trials: readonly TrialRecord[]): string[] {
  const byId = new Map(report.trials.map((t) => [t.trial as string, t]));
  return trials
    .filter((t) => {
      const r = byId.get(t.trial);
      return t.phase === 'Succeeded' && (r?.phase !== 'Succeeded' || missingEpochs(r).length > 0);
    })
    .map((t) => t.trial);
}

/** Trials the coordinator saw fail that `report` does not show as ended. */
function unseenFailures(report: SweepReport, trials: readonly TrialRecord[]): string[] {
  const phase = new Map<string, string>(report.trials.map((t) => [t.trial, t.phase]));
  return trials
    .filter((t) => t.phase === 'Failed' && !['Succeeded', 'Failed'].includes(phase.get(t.trial) ?? ''))
    .map((t) => t.trial);
}

/** Whether `report` is the final one of an ended sweep whose trials are `trials`. */
export function isFinalReport(report: SweepReport, trials: readonly TrialRecord[]): boolean {
  return (report.phase === 'Succeeded' || report.phase === 'Failed') && missingSuccesses(report, trials).length === 0;
}

export function createReportReader(o: ReportReaderOptions) {
  const waitMs = o.waitMs ?? 20_000;
  const pollMs = o.pollMs ?? 250;
  const evaluator = o.evaluatorUrl?.replace(/\/+$/, '');
  let lastWarned = 0;
  const headers: Record<string, string> = o.evaluatorToken ? { authorization: `Bearer ${o.evaluatorToken}` } : {};
  // Once per 10 s at most: a request waiting for an ended sweep's report asks every `pollMs`.
  const warn = (message: string, meta: Record<string, unknown>) => {
    if (Date.now() - lastWarned < 10_000) return;
    lastWarned = Date.now();
    o.logger.warn(message, meta);
  };

  const fromEvaluator = async (id: string, method: 'GET' | 'POST' = 'GET'): Promise<SweepReport | undefined> => {
    if (!evaluator) return undefined;
    const path = method === 'GET' ? `/v1/sweeps/${id}/report` : `/v1/sweeps/${id}/finalize`;
    try {
      const r = await fetch(`${evaluator}${path}`, { method, headers, signal: AbortSignal.timeout(10_000) });
      if (r.ok) return SweepReport.parse(await r.json());
      if (r.status === 401 || r.status === 403)
        warn(
          `the evaluator refused the coordinator's token (${r.status}): serving the stored report. ` +
            'Give the evaluator the same FERSWEEP_API_TOKENS, or set FERSWEEP_EVALUATOR_TOKEN to one of them',
          { sweep: id },
        );
    } catch (err) {
      warn('evaluator unreachable: serving the stored report', {
        sweep: id,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    return undefined;
  };

  const fromStore = async (id: string): Promise<SweepReport | undefined> => {
    if (!o.store) return undefined;
    try {
      return SweepReport.parse(JSON.parse((await o.store.get(`${keys.report(id)}/report.json`)).toString('utf8')));
    } catch (err) {
      if (err instanceof StoreError && err.code === 'NotFound') return undefined;
      throw err;
    }
  };

  /** The report as it stands: the evaluator's live one, else the stored one. */
  const current = async (id: string): Promise<SweepReport | undefined> =>
    (await fromEvaluator(id)) ?? (await fromStore(id));

  /**
   * The final report of an ended sweep: once the evaluator shows every trial the coordinator saw
   * succeed as succeeded, its report — finalized through the evaluator when it cannot tell the end
   * by itself (trials that failed or were cancelled without a last event). ReportPendingError after
   * `waitMs`; undefined only for a cancelled sweep with no evaluator and no stored report.
   */
  const final = async (sweep: SweepRecord, trials: readonly TrialRecord[]): Promise<SweepReport | undefined> => {
    // Nobody can finalize a cancelled sweep without an evaluator: serve what the store has, if anything.
    if (!evaluator && sweep.phase === 'Cancelled') return fromStore(sweep.id);
    const deadline = Date.now() + waitMs;
    const graceEnd = Date.now() + Math.min(FAILED_GRACE_MS, waitMs);
    let missing: string[] = trials.filter((t) => t.phase === 'Succeeded').map((t) => t.trial);
    for (;;) {
      const live = await fromEvaluator(sweep.id);
      if (live) {
        missing = missingSuccesses(live, trials);
        if (missing.length === 0) {
          if (isFinalReport(live, trials)) return live;
          // A failed trial's `trial.failed` (its reason) may still be on its way — or never come (a killed
          // trainer publishes nothing): a short grace, then the evaluator is told the sweep is over.
          if (Date.now() >= graceEnd || unseenFailures(live, trials).length === 0) {
            const finalized = await fromEvaluator(sweep.id, 'POST');
            if (finalized && isFinalReport(finalized, trials)) return finalized;
          }
        }
      }
      const stored = await fromStore(sweep.id);
      if (stored && isFinalReport(stored, trials)) return stored;
      if (!live && stored) missing = missingSuccesses(stored, trials);
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
    throw new ReportPendingError(
      `sweep '${sweep.id}' ended (${sweep.phase}) but its final report is not ready: the evaluator has not yet ` +
        `recorded the end of ${missing.length ? `trial(s) ${missing.join(', ')}` : 'the sweep'}. Retry shortly; ` +
        `if this persists, check that the evaluator is running and reachable (FERSWEEP_EVALUATOR_URL)`,
      5,
    );
  };

  const finalSeen = new Set<string>();
  const finalOnce = async (sweep: SweepRecord, trials: readonly TrialRecord[]) => {
    const r = await final(sweep, trials);
    if (r && isFinalReport(r, trials)) finalSeen.add(sweep.id);
    return r;
  };

  return {
    current,
    final: finalOnce,
    /**
     * Forgets a purged sweep: what this reader remembered, and the evaluator's memory of it
     * (`DELETE /v1/sweeps/{id}` there, best effort: a sweep the evaluator no longer holds is fine).
     */
    async forget(id: string): Promise<void> {
      finalSeen.delete(id);
      if (!evaluator) return;
      try {
        await fetch(`${evaluator}/v1/sweeps/${id}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        warn('evaluator unreachable: it keeps the purged sweep in memory until it evicts it', {
          sweep: id,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    },
    /**
     * Whether the final report of an ended sweep is there to be read now (stored by the evaluator,
     * or already served): what the sweep view shows as `report.ready`. Never waits.
     */
    async ready(sweep: SweepRecord, trials: readonly TrialRecord[]): Promise<boolean> {
      if (!ENDED.has(sweep.phase)) return false;
      if (finalSeen.has(sweep.id)) return true;
      const stored = await fromStore(sweep.id);
      if (!stored || !isFinalReport(stored, trials)) return false;
      finalSeen.add(sweep.id);
      return true;
    },
    /** The report a user asks for: the final one once the sweep has ended, else the live one. */
    async forSweep(sweep: SweepRecord, trials: () => Promise<TrialRecord[]>): Promise<SweepReport | undefined> {
      return ENDED.has(sweep.phase) ? finalOnce(sweep, await trials()) : current(sweep.id);
    },
  };
}
export type ReportReader = ReturnType<typeof createReportReader>;
