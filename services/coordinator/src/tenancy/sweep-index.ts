/**
 * The sweep list and the phase counts, kept in memory and updated with every state write (issue 12,
 * item 9): `GET /v1/sweeps` answers a page from it (O(log n + page)), `/metrics` reads its counters
 * (O(phases)), neither reads the store. It is built once, from one pass over the store, at the first
 * use (the scheduler's start); the coordinator is the only writer of its state (one replica, refused
 * above one by the chart), so the writes it sees are all there are.
 */
import { splitSweepId } from '@fersweep/contracts';

export const SWEEP_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export const TRIAL_PHASES = ['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'Stopped'] as const;

/** What a list entry shows (the sweep view without trials). */
export interface SweepSummary {
  id: string;
  tenant: string;
  phase: string;
  createdAt: string;
  finishedAt?: string;
  trialCount: number;
}

interface Entry extends SweepSummary {
  /** Trials of this sweep by phase. */
  trials: Map<string, number>;
}

const order = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }) =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** An opaque list position (Kubernetes' `continue`): the last entry of the page, base64url. */
export function encodeCursor(e: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([e.createdAt, e.id])).toString('base64url');
}

/** The position a cursor names; undefined for anything this index did not hand out. */
export function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { createdAt: v[0], id: v[1] };
  } catch {
    // not ours
  }
  return undefined;
}

export class SweepIndex {
  private readonly entries = new Map<string, Entry>();
  /** Sorted by (createdAt, id): every sweep, and each tenant's. */
  private readonly all: Entry[] = [];
  private readonly byTenant = new Map<string, Entry[]>();
  readonly sweepPhases = new Map<string, number>(SWEEP_PHASES.map((p) => [p, 0]));
  readonly trialPhases = new Map<string, number>(TRIAL_PHASES.map((p) => [p, 0]));

  get size(): number {
    return this.entries.size;
  }

  /** Adds (or replaces) a sweep with its trials' phases. */
  put(
    s: { id: string; phase: string; createdAt: string; finishedAt?: string; trialIds: readonly string[] },
    trialPhases: readonly string[],
  ): void {
    this.remove(s.id);
    const e: Entry = {
      id: s.id,
      tenant: splitSweepId(s.id).tenant,
      phase: s.phase,
      createdAt: s.createdAt,
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      trialCount: s.trialIds.length,
      trials: new Map(),
    };
    this.entries.set(s.id, e);
    insertSorted(this.all, e);
    let list = this.byTenant.get(e.tenant);
    if (!list) this.byTenant.set(e.tenant, (list = []));
    insertSorted(list, e);
    bump(this.sweepPhases, e.phase, 1);
    for (const p of trialPhases) this.trialAdded(s.id, p);
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    removeSorted(this.all, e);
    const list = this.byTenant.get(e.tenant);
    if (list) removeSorted(list, e);
    if (list?.length === 0) this.byTenant.delete(e.tenant);
    bump(this.sweepPhases, e.phase, -1);
    for (const [p, n] of e.trials) bump(this.trialPhases, p, -n);
  }

  sweepChanged(s: { id: string; phase: string; finishedAt?: string }): void {
    const e = this.entries.get(s.id);
    if (!e) return;
    if (e.phase !== s.phase) {
      bump(this.sweepPhases, e.phase, -1);
      bump(this.sweepPhases, s.phase, 1);
      e.phase = s.phase;
    }
    if (s.finishedAt) e.finishedAt = s.finishedAt;
  }

  trialAdded(sweep: string, phase: string): void {
    const e = this.entries.get(sweep);
    if (!e) return;
    bump(e.trials, phase, 1);
    bump(this.trialPhases, phase, 1);
  }

  trialChanged(sweep: string, from: string, to: string): void {
    const e = this.entries.get(sweep);
    if (!e || from === to) return;
    bump(e.trials, from, -1);
    bump(e.trials, to, 1);
    bump(this.trialPhases, from, -1);
    bump(this.trialPhases, to, 1);
  }

  /** One page after `after` (exclusive), of one tenant's sweeps or (tenant undefined) of all. */
  page(
    tenant: string | undefined,
    limit: number,
    after?: { createdAt: string; id: string },
  ): { items: SweepSummary[]; next?: string } {
    const list = tenant === undefined ? this.all : (this.byTenant.get(tenant) ?? []);
    let lo = 0;
    if (after) {
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (order(list[mid]!, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const items = list.slice(lo, lo + limit).map(({ trials: _trials, ...summary }) => summary);
    const last = items[items.length - 1];
    return { items, ...(last && lo + limit < list.length ? { next: encodeCursor(last) } : {}) };
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

function insertSorted(list: Entry[], e: Entry): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order(list[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, e);
}

function removeSorted(list: Entry[], e: Entry): void {
  const i = list.indexOf(e);
  if (i >= 0) list.splice(i, 1);
}
