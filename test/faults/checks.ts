/**
 * What the fault suite checks after each scenario, and the table it prints: the sweep finished,
 * each trial exactly once in the report with epochs 1..E once each, one Job per trial (created
 * once), no partial or temporary object under the sweep's keys.
 */
import { SweepReport } from '@fersweep/contracts';
import type { FakeKube } from '@fersweep/kube-fake';
import { openStore } from '@fersweep/storage';
import { AUTH, waitUntil, type FaultStack } from './stack.js';

export const EPOCHS = 3;
const TRIALS = ['a', 'b'];

/** A sweep of two tiny CNN trials of {@link EPOCHS} epochs (seconds each), `parallelism` at once. */
export function faultSweep(name: string, parallelism = 2) {
  const params = { width: 0.125, blocks: 2, denseUnits: 16, batchNormMomentum: 0.9 };
  return {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      dataset: 's3://fersweep/datasets/faces',
      epochs: EPOCHS,
      batchSize: 32,
      maxTrainImages: 256,
      variants: TRIALS.map((t) => ({ name: t, model: 'cnn', params })),
      parallelism,
      retries: 3,
      resources: { gpu: 0, cpu: '1', memory: '1Gi' },
    },
  };
}

export interface TrialView {
  trial: string;
  phase: string;
  attempts: number;
  lastEpoch?: { epoch: number };
}
export interface SweepView {
  id: string;
  phase: string;
  trials: TrialView[];
  report: { ready: boolean };
}

export async function submit(api: string, body: unknown): Promise<SweepView> {
  const res = await fetch(`${api}/v1/sweeps`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as SweepView;
}

/** The sweep's view, or undefined while the coordinator (or NATS behind it) does not answer. */
export async function view(api: string, id: string): Promise<SweepView | undefined> {
  try {
    const res = await fetch(`${api}/v1/sweeps/${id}`, { headers: AUTH, signal: AbortSignal.timeout(5000) });
    return res.ok ? ((await res.json()) as SweepView) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for `ok` on the sweep's view (errors while a component is down are retried). */
export function waitView(
  stack: FaultStack,
  id: string,
  what: string,
  ok: (v: SweepView) => boolean,
  ms = 120_000,
): Promise<SweepView> {
  let last: SweepView | undefined;
  return waitUntil(
    `${what} (sweep ${id})`,
    async () => {
      last = (await view(stack.coordinator.url, id)) ?? last;
      return last && ok(last) ? last : undefined;
    },
    ms,
    () =>
      `last view: ${JSON.stringify(last)}\ncoordinator: ${stack.coordinator.output()}\nevaluator: ${stack.evaluator.output()}\nkube errors: ${stack.kube.errors().join('; ')}`,
    150,
  );
}

/** A running trial with at least `epoch` epochs reported, if any. */
export function runningAt(v: SweepView, epoch: number): TrialView | undefined {
  return v.trials.find((t) => t.phase === 'Running' && (t.lastEpoch?.epoch ?? 0) >= epoch);
}

/** One row of the results table. */
export interface Outcome {
  scenario: string;
  killPoint: string;
  restart: string;
  finished: boolean;
  trialsInReport: string;
  duplicates: number;
  epochsLost: number;
  partialFiles: number;
  note?: string;
}

/** What a scenario's sweep ended as, from the report, the fake cluster and the bucket. */
export interface Verdict {
  phase: string;
  trialIds: string[];
  epochs: Record<string, number[]>;
  jobsPerTrial: Record<string, number>;
  jobCreates: number;
  partial: string[];
  report: SweepReport;
}

/** Waits for the sweep to end and its final report, then gathers the {@link Verdict}. */
export async function verdict(stack: FaultStack, id: string, createsBefore: number): Promise<Verdict> {
  const done = await waitView(
    stack,
    id,
    'the sweep to end with its final report',
    (v) => ['Succeeded', 'Failed', 'Cancelled'].includes(v.phase) && v.report.ready,
  );
  const res = await fetch(`${stack.coordinator.url}/v1/sweeps/${id}/report`, { headers: AUTH });
  if (!res.ok) throw new Error(`report of ${id}: ${res.status} ${await res.text()}`);
  const report = SweepReport.parse(await res.json());
  const epochs: Record<string, number[]> = {};
  for (const t of report.trials) epochs[t.trial] = t.history.map((h) => h.epoch);
  return {
    phase: done.phase,
    trialIds: report.trials.map((t) => t.trial).sort(),
    epochs,
    jobsPerTrial: jobsPerTrial(stack.kube, id),
    jobCreates: jobCreates(stack.kube) - createsBefore,
    partial: await partialObjects(`sweeps/${id}/`),
    report,
  };
}

/** Jobs of the sweep on the fake API server, by trial label. */
export function jobsPerTrial(kube: FakeKube, sweep: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const j of kube.listJobs('default')) {
    const l = j.metadata?.labels ?? {};
    if (l['fersweep.io/sweep'] !== sweep) continue;
    const t = l['fersweep.io/trial'] ?? '?';
    out[t] = (out[t] ?? 0) + 1;
  }
  return out;
}

/** Successful Job creations (201) the fake API server has answered so far. */
export function jobCreates(kube: FakeKube): number {
  return kube.requests().filter((r) => r.method === 'POST' && r.resource === 'jobs' && r.code === 201).length;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const TEMP = /(\.tmp|\.partial|\.part|~)$|\/\.|_S3rver/i;

/**
 * Objects under `prefix` of s3://fersweep that are partial or temporary: a key that looks like a
 * temp file, a body shorter than its listed size, a JSON object that does not parse, or a
 * TF.js model whose weight files do not hold exactly what its manifest lists.
 */
export async function partialObjects(prefix: string): Promise<string[]> {
  const store = openStore('s3://fersweep');
  const bad: string[] = [];
  const sizes = new Map<string, number>();
  const models: string[] = [];
  for await (const o of store.list(prefix)) {
    sizes.set(o.key, o.bytes);
    if (TEMP.test(o.key)) bad.push(`${o.key}: a temporary key`);
    if (o.key.endsWith('/model.json')) models.push(o.key);
    if (!o.key.endsWith('.json')) continue;
    const body = await store.get(o.key);
    if (body.length !== o.bytes) bad.push(`${o.key}: ${body.length} of ${o.bytes} bytes`);
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      bad.push(`${o.key}: not JSON`);
    }
  }
  for (const key of models) {
    const dir = key.slice(0, -'model.json'.length);
    const model = JSON.parse((await store.get(key)).toString('utf8')) as {
      weightsManifest?: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[];
    };
    for (const group of model.weightsManifest ?? []) {
      const want = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (BYTES[w.dtype] ?? 4), 0);
      const have = group.paths.reduce((n, p) => n + (sizes.get(dir + p) ?? 0), 0);
      if (want !== have) bad.push(`${dir}: weights ${have} bytes, the manifest lists ${want}`);
    }
  }
  return bad;
}

/** The table, as markdown. */
export function table(rows: Outcome[]): string {
  const head = [
    '| scenario | kill point | restart | finished | trials in report | duplicates | epochs lost | partial files | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  return [
    ...head,
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.killPoint} | ${r.restart} | ${r.finished ? 'yes' : 'NO'} | ${r.trialsInReport} | ${r.duplicates} | ${r.epochsLost} | ${r.partialFiles} | ${r.note ?? ''} |`,
    ),
  ].join('\n');
}

/** Trials and epochs the verdict is missing or has twice, against the sweep's two trials of EPOCHS epochs. */
export function lostAndDuplicated(v: Verdict, kube = true): { lost: number; duplicated: number } {
  let lost = TRIALS.filter((t) => !v.trialIds.includes(t)).length * EPOCHS;
  let duplicated = v.trialIds.length - new Set(v.trialIds).size;
  for (const t of TRIALS) {
    const e = v.epochs[t] ?? [];
    lost += Array.from({ length: EPOCHS }, (_, i) => i + 1).filter((n) => !e.includes(n)).length;
    duplicated += e.length - new Set(e).size;
  }
  if (kube) {
    duplicated += Object.values(v.jobsPerTrial).reduce((n, c) => n + Math.max(0, c - 1), 0);
    duplicated += Math.max(0, v.jobCreates - TRIALS.length);
  }
  return { lost, duplicated };
}

export { TRIALS };
