/**
 * The in-memory sweep index stays equal to a full recount of the store through any sequence of
 * writes (fast-check, fixed seed): phase counters, per-tenant pages and cursors — also when it is
 * built in the middle of the sequence, and when a second SweepState opens the same store (a restart).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { TrialSpec } from '@fersweep/contracts';
import { createMemoryKv } from '@fersweep/messaging';
import { SweepState, TrialPhase, SweepPhase, type SweepRecord, type TrialRecord } from '../state.js';
import type { SweepIndex } from './sweep-index.js';

const spec = (name: string) =>
  ({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: { dataset: 's3://b/d', variants: [{ name: 'a', model: 'cnn', params: {} }] },
  }) as unknown as SweepRecord['spec'];

function records(id: string, trials: number, at: number): [SweepRecord, TrialRecord[]] {
  const now = new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString();
  const ts = Array.from({ length: trials }, (_, i) => ({
    sweep: id,
    trial: `t${i}`,
    variant: 'a',
    spec: TrialSpec.parse({
      sweep: id,
      trial: `t${i}`,
      variant: 'a',
      model: 'cnn',
      dataset: 's3://b/d',
      output: 's3://b/o',
      epochs: 1,
      batchSize: 8,
      seed: 1,
    }),
    phase: 'Pending' as const,
    failures: 0,
    attempts: 0,
    preemptions: 0,
    updatedAt: now,
  }));
  const sweep: SweepRecord = {
    id,
    spec: spec(id.split('--')[0]!),
    specHash: id,
    phase: 'Pending',
    trialIds: ts.map((t) => t.trial),
    createdAt: now,
    updatedAt: now,
  };
  return [sweep, ts];
}

async function recount(state: SweepState) {
  const sweeps = new Map<string, number>();
  const trials = new Map<string, number>();
  const all = await state.listSweeps();
  for (const s of all) {
    sweeps.set(s.phase, (sweeps.get(s.phase) ?? 0) + 1);
    for (const t of await state.trials(s)) trials.set(t.phase, (trials.get(t.phase) ?? 0) + 1);
  }
  return { sweeps, trials, all };
}

function pages(index: SweepIndex, tenant: string | undefined, limit: number): string[] {
  const out: string[] = [];
  let after: { createdAt: string; id: string } | undefined;
  for (;;) {
    const page = index.page(tenant, limit, after);
    out.push(...page.items.map((s) => s.id));
    if (!page.next) return out;
    const last = page.items[page.items.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

const op = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    tenant: fc.constantFrom('default', 'acme', 'beta'),
    trials: fc.integer({ min: 1, max: 4 }),
    at: fc.integer({ min: 0, max: 5 }),
  }),
  fc.record({
    kind: fc.constant('trial' as const),
    pick: fc.nat(),
    t: fc.nat(),
    phase: fc.constantFrom(...TrialPhase.options),
  }),
  fc.record({ kind: fc.constant('sweep' as const), pick: fc.nat(), phase: fc.constantFrom(...SweepPhase.options) }),
  fc.constant({ kind: 'build' as const }),
);

describe('SweepIndex', () => {
  it('equals a recount of the store after any sequence of writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const kv = createMemoryKv();
        const state = new SweepState(kv);
        const ids: string[] = [];
        for (const o of ops) {
          if (o.kind === 'create') {
            const id = o.tenant === 'default' ? o.name : `${o.name}--${o.tenant}`;
            if (ids.includes(id)) continue;
            const [s, ts] = records(id, o.trials, o.at);
            await state.createSweep(s, ts);
            ids.push(id);
          } else if (o.kind === 'trial' && ids.length) {
            const id = ids[o.pick % ids.length]!;
            const sweep = (await state.getSweep(id))!;
            const trial = sweep.trialIds[o.t % sweep.trialIds.length]!;
            await state.updateTrial(id, trial, (t) => (t.phase === o.phase ? undefined : { ...t, phase: o.phase }));
          } else if (o.kind === 'sweep' && ids.length) {
            const id = ids[o.pick % ids.length]!;
            await state.updateSweep(id, (s) => ({ ...s, phase: o.phase }));
          } else if (o.kind === 'build') await state.index();
        }
        for (const s of [state, new SweepState(kv)]) {
          const index = await s.index();
          const truth = await recount(s);
          for (const p of SweepPhase.options) expect(index.sweepPhases.get(p) ?? 0).toBe(truth.sweeps.get(p) ?? 0);
          for (const p of TrialPhase.options) expect(index.trialPhases.get(p) ?? 0).toBe(truth.trials.get(p) ?? 0);
          expect(pages(index, undefined, 2)).toEqual(truth.all.map((x) => x.id));
          for (const tenant of ['default', 'acme', 'beta'])
            expect(pages(index, tenant, 3)).toEqual(
              truth.all.map((x) => x.id).filter((id) => (id.split('--')[1] ?? 'default') === tenant),
            );
        }
      }),
      { seed: 20261204, numRuns: 60 },
    );
  });
});
