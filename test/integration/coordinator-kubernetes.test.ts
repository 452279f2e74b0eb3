/**
 * The coordinator with the Kubernetes launcher against the fake kube-apiserver (real REST + watch
 * protocol, real client-node), real nats-server (events + KV state) and a real S3 server; the
 * kubelet simulator runs every Job's `fersweep train` as a local process. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ResourcesSpec, TrialSpec } from '@fersweep/contracts';
import type { Coordinator } from '@fersweep/coordinator';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { startFakeKube, type FakeKube } from '@fersweep/kube-fake';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { startNats, startS3, type RunningS3, type RunningServer } from '@fersweep/testkit';
import { createTrainerConfig, kubeLauncher, pollSweep, startKubeCoordinator, trainerImage } from '../support/kube.js';

const BIN = join(process.cwd(), 'bin', 'fersweep.js');
const logger = createLogger({ service: 'coordinator', silent: true });
let nats: RunningServer;
let s3: RunningS3;
let kube: FakeKube;
let coordinator: Coordinator | undefined;

function start(): Promise<Coordinator> {
  return startKubeCoordinator(kube, nats, s3, logger);
}

beforeAll(async () => {
  [nats, s3] = await Promise.all([startNats(), startS3()]);
  kube = await startFakeKube({ ...trainerImage(BIN), terminationGracePeriodSeconds: 5 });
  await s3.createBucket('fersweep');
  Object.assign(process.env, s3.env);
  await importDataset({
    source: syntheticSource({ count: 400, seed: 8 }),
    store: openStore('s3://fersweep/datasets/tiny'),
    name: 'tiny',
    seed: 1,
    explore: false,
  });
  await createTrainerConfig(kube, nats, s3);
  coordinator = await start();
}, 120_000);

afterAll(async () => {
  await coordinator?.stop();
  await kube?.stop();
  await Promise.all([nats?.stop(), s3?.stop()]);
});

const headers = { authorization: 'Bearer tok', 'content-type': 'application/json' };
const sweep = (name: string, variants: object[], extra: object = {}) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name },
  spec: {
    dataset: 's3://fersweep/datasets/tiny',
    epochs: 1,
    batchSize: 32,
    maxTrainImages: 64,
    variants,
    // CPU trials: the kubelet simulator runs them on this machine (wasm); a GPU trial requires the GPU backend.
    resources: { gpu: 0, cpu: '1', memory: '1Gi' },
    ...extra,
  },
});
const cnn = (name: string, params: object = {}) => ({
  name,
  model: 'cnn',
  params: { width: 0.125, blocks: 2, denseUnits: 8, ...params },
});

async function submit(body: object) {
  const r = await fetch(`${coordinator!.url}/v1/sweeps`, { method: 'POST', headers, body: JSON.stringify(body) });
  expect(r.status).toBe(201);
}
type View = {
  phase: string;
  trials: {
    trial: string;
    phase: string;
    attempts: number;
    failures: number;
    message?: string;
    modelUri?: string;
    exitCode?: number;
    error?: { code: string; reason: string; exitCode: number; retryable: boolean };
  }[];
};
const until = (id: string, ok: (v: View) => boolean, ms?: number) =>
  pollSweep<View>(coordinator!.url, id, headers, ok, ms);

describe('coordinator with the Kubernetes launcher', () => {
  it('runs a two-variant sweep as Jobs to Succeeded; the models are in S3', async () => {
    await submit(sweep('k8s-two', [cnn('a'), { name: 'b', model: 'mobilenetv2', params: { alpha: 0.35 } }]));
    const v = await until('k8s-two', (x) => ['Succeeded', 'Failed'].includes(x.phase));
    expect(v.phase).toBe('Succeeded');
    for (const t of v.trials)
      expect(await openStore(`s3://fersweep/sweeps/k8s-two/trials/${t.trial}/model`).head('model.json')).toBeDefined();
    const job = kube.getJob('fs-k8s-two-a')!;
    expect(job.spec?.template.spec?.containers[0]?.envFrom).toEqual([
      { configMapRef: { name: 'fersweep-trainer' } },
      { secretRef: { name: 'fersweep-s3' } },
    ]);
  }, 180_000);

  it('retries a preempted pod without spending a retry', async () => {
    // Wide enough that the pod is still training when it is preempted.
    await submit(sweep('k8s-preempt', [cnn('p', { width: 0.5 })], { retries: 0, epochs: 3, maxTrainImages: 256 }));
    const first = await kube.waitFor(
      () => kube.listPods({ jobName: 'fs-k8s-preempt-p' }).find((p) => p.status?.phase === 'Running'),
      { timeoutMs: 60_000 },
    );
    await kube.preemptPod('fs-k8s-preempt-p');
    const v = await until('k8s-preempt', (x) => ['Succeeded', 'Failed'].includes(x.phase));
    // With retries: 0, a counted failure would have failed the Job: the preemption was ignored.
    expect(v.phase).toBe('Succeeded');
    expect(v.trials[0]).toMatchObject({ failures: 0 });
    expect(kube.getJob('fs-k8s-preempt-p')!.status?.failed ?? 0).toBe(0);
    const pods = kube.listPods({ jobName: 'fs-k8s-preempt-p' });
    expect(pods.some((p) => p.metadata?.name !== first.metadata?.name && p.status?.phase === 'Succeeded')).toBe(true);
  }, 180_000);

  it('fails a trial at once on the trainer\u2019s permanent exit code', async () => {
    // A dataset that does not exist: exit 43 (an unknown model, exit 42 before, is now refused at submission).
    await submit(sweep('k8s-perm', [cnn('bad')], { retries: 3, dataset: 's3://fersweep/datasets/missing' }));
    const v = await until('k8s-perm', (x) => ['Succeeded', 'Failed'].includes(x.phase));
    expect(v.phase).toBe('Failed');
    expect(v.trials[0]!.message).toMatch(/PermanentError/);
    expect(kube.listPods({ jobName: 'fs-k8s-perm-bad' })).toHaveLength(1);
  }, 120_000);

  it('cancel deletes the Jobs and stops their processes', async () => {
    await submit(
      sweep('k8s-cancel', [cnn('x', { width: 0.5 }), cnn('y', { width: 0.5 })], { epochs: 50, maxTrainImages: 256 }),
    );
    await kube.waitFor(
      () => kube.listJobs().filter((j) => j.metadata?.name?.startsWith('fs-k8s-cancel-')).length === 2,
      { timeoutMs: 30_000 },
    );
    const r = await fetch(`${coordinator!.url}/v1/sweeps/k8s-cancel`, { method: 'DELETE', headers });
    expect(((await r.json()) as { phase: string }).phase).toBe('Cancelled');
    await kube.waitFor(
      () => kube.listJobs().every((j) => !j.metadata?.name?.startsWith('fs-k8s-cancel-')) || undefined,
      { timeoutMs: 30_000 },
    );
    await kube.waitFor(() => kube.processes().every((p) => !p.pod.startsWith('fs-k8s-cancel-')) || undefined, {
      timeoutMs: 30_000,
    });
  }, 120_000);

  it('a GPU trial on a node without a usable GPU fails at once (exit 44, no retry) with the reason in its status', async () => {
    // resources.gpu: 1 → the Job sets FERSWEEP_TF_BACKEND=gpu over the ConfigMap's wasm; this
    // machine has no tfjs-node-gpu, driver or CUDA: the trainer must refuse, not train on the CPU.
    await submit(sweep('k8s-nogpu', [cnn('g')], { retries: 3, resources: { gpu: 1, cpu: '1', memory: '1Gi' } }));
    const v = await until('k8s-nogpu', (x) => ['Succeeded', 'Failed'].includes(x.phase) && !!x.trials[0]?.error);
    expect(v.phase).toBe('Failed');
    expect(v.trials[0]).toMatchObject({ phase: 'Failed', attempts: 1, failures: 1 });
    expect(v.trials[0]!.error).toMatchObject({ code: 'GpuUnavailable', exitCode: 44, retryable: false });
    expect(v.trials[0]!.error!.reason).toMatch(
      /the GPU backend is required \(the trial asked for 1 GPU\).*found: NVIDIA driver not found.*needed by libtensorflow 2\.9\.1/,
    );
    expect(kube.listPods({ jobName: 'fs-k8s-nogpu-g' })).toHaveLength(1);
    const env = kube.getJob('fs-k8s-nogpu-g')!.spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({ name: 'FERSWEEP_TF_BACKEND', value: 'gpu' });
  }, 120_000);

  it('an API error on Job creation does not fail the submission: the launch is retried', async () => {
    kube.failNext({ verb: 'create', resource: 'jobs', code: 500, times: 1 });
    await submit(sweep('k8s-apierr', [cnn('e')]));
    const v = await until('k8s-apierr', (x) => ['Succeeded', 'Failed'].includes(x.phase));
    expect(v.phase).toBe('Succeeded');
    expect(kube.listPods({ jobName: 'fs-k8s-apierr-e' })).toHaveLength(1);
  }, 120_000);

  it('a Job whose create response was lost is replaced, not adopted with the launch it no longer has', async () => {
    // The API server creates the Job but the response is lost: the trial goes back to Pending, is launched again
    // with a new launch (nonce), and meets 409. Adopting that Job would leave a run whose events carry the
    // replaced launch, all refused as stale: no epochs, no model, a report that never completes.
    kube.failNext({
      verb: 'create',
      resource: 'jobs',
      code: 504,
      when: 'after',
      message: 'Timeout: request did not complete',
    });
    await submit(sweep('k8s-lost', [cnn('l')]));
    const v = await until(
      'k8s-lost',
      (x) => ['Succeeded', 'Failed'].includes(x.phase) && !!x.trials[0]?.modelUri,
      180_000,
    );
    expect(v.phase).toBe('Succeeded');
    expect(v.trials[0]?.modelUri).toBeDefined();
    expect(kube.listJobs().filter((j) => j.metadata?.name === 'fs-k8s-lost-l')).toHaveLength(1);
  }, 240_000);

  it('the launcher replaces, never adopts, a Job of an earlier launch of the trial (a lost create response the watch missed)', async () => {
    const launcher = kubeLauncher(kube, logger);
    const launch = (seq: number) => ({ seq, nonce: String(seq).repeat(43) });
    const spec = TrialSpec.parse({
      sweep: 'k8s-stale',
      trial: 't',
      variant: 't',
      model: 'cnn',
      params: { width: 0.125, blocks: 2, denseUnits: 8 },
      dataset: 's3://fersweep/datasets/tiny',
      output: 's3://fersweep',
      epochs: 1,
      batchSize: 32,
      launch: launch(1),
    });
    const options = {
      retries: 0,
      deadlineSeconds: 600,
      resources: ResourcesSpec.parse({ gpu: 0, cpu: '1', memory: '1Gi' }),
    };
    const launched = () => {
      const args = kube.getJob('fs-k8s-stale-t')?.spec?.template.spec?.containers[0]?.args ?? [];
      return (JSON.parse(args.at(-1) ?? '{}') as { launch?: unknown }).launch;
    };
    try {
      await launcher.launch(spec, options);
      await launcher.launch(spec, options); // the same launch again (a retried create, a restart): adopted
      expect(launched()).toEqual(launch(1));
      // Launch 2 meets launch 1's Job: its events would carry a replaced launch and be refused as stale.
      await expect(launcher.launch({ ...spec, launch: launch(2) }, options)).rejects.toThrow(/earlier launch/);
      await kube.waitFor(() => !kube.getJob('fs-k8s-stale-t'), { timeoutMs: 30_000 }); // gone with its pod
      await launcher.launch({ ...spec, launch: launch(3) }, options);
      expect(launched()).toEqual(launch(3));
    } finally {
      await launcher.cancel('k8s-stale', 't');
      await launcher.close();
    }
  }, 60_000);

  it('a coordinator killed mid-sweep and restarted finishes the sweep without duplicate Jobs', async () => {
    await submit(sweep('k8s-restart', [cnn('r1'), cnn('r2'), cnn('r3')], { parallelism: 1 }));
    await kube.waitFor(() => kube.getJob('fs-k8s-restart-r1'), { timeoutMs: 30_000 });
    await coordinator!.stop(); // Jobs outlive the coordinator
    coordinator = await start();
    const v = await until('k8s-restart', (x) => ['Succeeded', 'Failed'].includes(x.phase), 180_000);
    expect(v.phase).toBe('Succeeded');
    const jobs = kube.listJobs().filter((j) => j.metadata?.name?.startsWith('fs-k8s-restart-'));
    expect(jobs.map((j) => j.metadata?.name).sort()).toEqual([
      'fs-k8s-restart-r1',
      'fs-k8s-restart-r2',
      'fs-k8s-restart-r3',
    ]);
    // r1 was adopted by the restarted coordinator, not started again.
    expect(kube.listPods({ jobName: 'fs-k8s-restart-r1' })).toHaveLength(1);
  }, 240_000);
});
