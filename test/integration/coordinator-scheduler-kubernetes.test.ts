/**
 * The sweep scheduler (spec.scheduler: ASHA) with the Kubernetes launcher against the fake
 * kube-apiserver and a real nats-server: a scripted trainer (coordinator fixtures/curve-trainer.mjs)
 * publishes learning curves set by each trial's learning rate; the coordinator stops the weak
 * trials at their rung, deletes their Jobs, and the sweep still succeeds. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Coordinator } from '@fersweep/coordinator';
import { CURVE_TRAINER_PATH } from '@fersweep/coordinator/testing';
import { pollSweep, startCurveStack, type CurveStack } from '../support/kube.js';

const CURVES = CURVE_TRAINER_PATH;
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

type View = { phase: string; trials: { trial: string; phase: string; stopped?: { epoch: number; rung?: number } }[] };

const until = (id: string, ok: (v: View) => boolean, ms?: number) =>
  pollSweep<View>(coordinator!.url, id, headers, ok, ms);

describe('sweep scheduler on Kubernetes', () => {
  it('ASHA stops the weak trials at rung 1: phase Stopped, their Jobs deleted, the sweep Succeeded', async () => {
    // One at a time, best first: s-0 sets rung 1's values; s-1 and s-2 fall below its cutoff there.
    const body = {
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: 'k8s-asha' },
      spec: {
        dataset: 's3://fersweep/datasets/none',
        epochs: 6,
        parallelism: 1,
        variants: [{ name: 's', model: 'cnn', params: {} }],
        search: { method: 'grid', parameters: { learningRate: [0.004, 0.001, 0.0005] } },
        scheduler: { policy: 'asha', metric: 'valAccuracy', mode: 'max', minEpochs: 1, reductionFactor: 3 },
        resources: { gpu: 0, cpu: '1', memory: '1Gi' },
      },
    };
    const r = await fetch(`${coordinator!.url}/v1/sweeps`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect([r.status, r.status === 201 ? '' : await r.text()]).toEqual([201, '']);
    const v = await until('k8s-asha', (x) => ['Succeeded', 'Failed'].includes(x.phase));
    expect(v.phase).toBe('Succeeded');
    expect(v.trials.map((t) => [t.trial, t.phase, t.stopped?.rung])).toEqual([
      ['s-0', 'Succeeded', undefined],
      ['s-1', 'Stopped', 1],
      ['s-2', 'Stopped', 1],
    ]);
    // The stopped trials' Jobs are deleted, their processes gone; the finished one's Job stays.
    await stack!.kube.waitFor(
      () => (['fs-k8s-asha-s-1', 'fs-k8s-asha-s-2'].every((j) => !stack!.kube.getJob(j)) ? true : undefined),
      { timeoutMs: 30_000 },
    );
    await stack!.kube.waitFor(
      () => stack!.kube.processes().every((p) => !p.pod.startsWith('fs-k8s-asha-')) || undefined,
      {
        timeoutMs: 30_000,
      },
    );
    expect(stack!.kube.getJob('fs-k8s-asha-s-0')).toBeDefined();
  }, 180_000);
});
