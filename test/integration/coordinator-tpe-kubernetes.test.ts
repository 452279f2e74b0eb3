/**
 * search.method: tpe with the Kubernetes launcher against the fake kube-apiserver and a real
 * nats-server: every configuration's point is suggested just before its Job is created, stored in
 * its trial record (GET /v1/sweeps/{id} shows it) and launched as the Job's trial spec; replicates
 * share their configuration's point with their own seeds; with ASHA, stopped trials are the TPE
 * history's pruned ones. Scripted trainer (coordinator fixtures/curve-trainer.mjs). Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { Coordinator } from '@fersweep/coordinator';
import { pollSweep, startCurveStack, type CurveStack } from '../support/kube.js';

const CURVES = join(process.cwd(), 'services', 'coordinator', 'src', 'fixtures', 'curve-trainer.mjs');
let stack: CurveStack | undefined;
let coordinator: Coordinator | undefined;
const headers = { authorization: 'Bearer tok', 'content-type': 'application/json' };

beforeAll(async () => {
  stack = await startCurveStack(CURVES);
  coordinator = stack.coordinator;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

type View = {
  phase: string;
  budget?: { equal: boolean; replicates: number; variants: { variant: string; trials: number }[] };
  trials: {
    trial: string;
    phase: string;
    replicate?: number;
    seed?: number;
    params: Record<string, unknown>;
    search?: { configuration: number; point?: Record<string, number> };
  }[];
};

describe('TPE on Kubernetes', () => {
  it('suggests each configuration before its Jobs are created, stores it, and launches it; ASHA-stopped trials end as Stopped', async () => {
    const body = {
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: 'k8s-tpe' },
      spec: {
        dataset: 's3://fersweep/datasets/none',
        epochs: 3,
        parallelism: 4,
        replicates: 2,
        variants: [{ name: 's', model: 'cnn', params: {} }],
        search: {
          method: 'tpe',
          samples: 4,
          startupTrials: 1,
          parameters: { learningRate: { type: 'float', min: 1e-4, max: 1e-2, log: true } },
        },
        scheduler: { policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 1, reductionFactor: 3 },
        resources: { gpu: 0, cpu: '1', memory: '1Gi' },
      },
    };
    const r = await fetch(`${coordinator!.url}/v1/sweeps`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect([r.status, r.status === 201 ? '' : await r.text()]).toEqual([201, '']);
    const created = (await r.json()) as View;
    // Placeholders: no point before launch (the first configuration's points are set at submission's schedule).
    expect(created.trials.map((t) => t.trial)).toEqual([
      ...['s-0-r0', 's-0-r1', 's-1-r0', 's-1-r1', 's-2-r0', 's-2-r1', 's-3-r0', 's-3-r1'],
    ]);
    expect(created.trials.filter((t) => !t.search?.point).length).toBeGreaterThanOrEqual(4);

    const v = await pollSweep<View>(
      coordinator!.url,
      'k8s-tpe',
      headers,
      (x) => ['Succeeded', 'Failed'].includes(x.phase),
      150_000,
    );
    expect(v.phase).toBe('Succeeded');
    // The start-up points (seed 42) differ in learning rate, so ASHA stops some at rung 1.
    expect(v.trials.some((t) => t.phase === 'Stopped')).toBe(true);
    expect(v.budget).toMatchObject({ equal: true, replicates: 2, variants: [{ variant: 's', trials: 8 }] });
    for (const t of v.trials) {
      expect(['Succeeded', 'Stopped']).toContain(t.phase);
      const lr = t.search!.point!.learningRate!;
      expect(lr).toBeGreaterThanOrEqual(1e-4);
      expect(lr).toBeLessThanOrEqual(1e-2);
      expect(t.params.learningRate).toBe(lr);
      // Both replicates of a configuration train its point, with their own seeds.
      const twin = v.trials.find((o) => o.search!.configuration === t.search!.configuration && o.trial !== t.trial)!;
      expect(twin.search!.point).toEqual(t.search!.point);
      expect(twin.seed).not.toBe(t.seed);
    }
    // The Jobs that remain (stopped trials' Jobs are deleted) were created with the stored point.
    for (const t of v.trials.filter((x) => x.phase === 'Succeeded')) {
      const job = stack!.kube.getJob(`fs-k8s-tpe-${t.trial}`);
      expect(JSON.stringify(job)).toContain(String(t.search!.point!.learningRate));
    }
  }, 240_000);
});
