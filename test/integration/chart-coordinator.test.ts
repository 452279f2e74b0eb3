/**
 * The coordinator as the chart and the kustomize overlays configure it: its container environment
 * is taken from the rendered Deployment (values, the ConfigMap it takes by envFrom, the namespace
 * from the downward API), the coordinator is started with it (real client-node against the fake
 * API server, real NATS) and a sweep is submitted over its API: the trial Job it creates must carry
 * what the install asked for — pull secrets, the trainers' ServiceAccount, the S3 Secret or none
 * (IRSA), the GPU node selector, tolerations and priority class, the CUDA cache volume.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { startFakeKube, type FakeKube, type Job } from '@fersweep/kube-fake';
import { createLogger } from '@fersweep/observability';
import { startNats, type RunningServer } from '@fersweep/testkit';
import { kustomize, render, type K8sObject } from '../chart/render.js';

const logger = createLogger({ service: 'coordinator', silent: true });
const TOKEN = 'tok';
let kube: FakeKube;
let dir: string;
let kubeconfig: string;
let nats: RunningServer | undefined;
let coordinator: Coordinator | undefined;
let savedKubeconfig: string | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fersweep-chart-coordinator-'));
  kube = await startFakeKube({ kubelet: false });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.kubeconfigYaml);
  // client-node's loadFromDefault reads the process's KUBECONFIG; the coordinator's env carries it too.
  savedKubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
});
afterEach(async () => {
  await coordinator?.stop();
  await nats?.stop();
  coordinator = undefined;
  nats = undefined;
});
afterAll(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  env: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/**
 * The coordinator container's environment as the kubelet would build it (ConfigMaps by envFrom,
 * then env; the API token Secret and the namespace resolved), with NATS, the store and the
 * kubeconfig pointed at the test's servers.
 */
function renderedEnv(objects: K8sObject[]): { env: Record<string, string>; namespace: string } {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'coordinator',
  )!;
  const namespace = deployment.metadata.namespace!;
  const container = (deployment.spec as { template: { spec: { containers: Container[] } } }).template.spec
    .containers[0]!;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) continue; // S3 keys: not needed to create Jobs
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef!.name);
    if (!cm) throw new Error(`envFrom ConfigMap ${from.configMapRef.name} is not rendered`);
    Object.assign(env, cm.data as Record<string, string>);
  }
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.name === 'FERSWEEP_API_TOKENS' && e.valueFrom?.secretKeyRef) env[e.name] = TOKEN;
    else throw new Error(`${e.name}: cannot resolve ${JSON.stringify(e.valueFrom)}`);
  }
  // The tenants document, mounted from its Secret as the kubelet would.
  if (env.FERSWEEP_TENANTS_FILE) env.FERSWEEP_TENANTS_FILE = mountTenants(objects, deployment);
  return {
    namespace,
    env: { ...env, NATS_URL: nats!.url, FERSWEEP_STORE: `file://${dir}/store`, KUBECONFIG: kubeconfig, HOME: dir },
  };
}

/** Writes the tenants Secret's document (as rendered) where the coordinator will read it. */
function mountTenants(objects: K8sObject[], deployment: K8sObject): string {
  const volumes = (
    deployment.spec as {
      template: { spec: { volumes: { name: string; secret?: { secretName: string; items?: { key: string }[] } }[] } };
    }
  ).template.spec.volumes;
  const volume = volumes.find((v) => v.name === 'tenants')!.secret!;
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === volume.secretName) as
    (K8sObject & { stringData?: Record<string, string>; data?: Record<string, string> }) | undefined;
  if (!secret) throw new Error(`the tenants Secret ${volume.secretName} is not rendered`);
  const key = volume.items?.[0]?.key ?? 'tenants.json';
  const text = secret.stringData?.[key] ?? Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  const file = join(dir, 'tenants.json');
  writeFileSync(file, text);
  return file;
}

/** Starts the coordinator with the rendered env, submits a one-trial sweep, returns its Job. */
async function jobFor(objects: K8sObject[], sweep: string, resources: object = {}): Promise<Job> {
  nats = await startNats();
  const { env, namespace } = renderedEnv(objects);
  expect(env.FERSWEEP_LAUNCHER).toBe('kubernetes');
  coordinator = await startCoordinator({ env, port: 0, host: '127.0.0.1', logger });
  const res = await fetch(`${coordinator.url}/v1/sweeps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: sweep },
      spec: { dataset: 's3://fersweep/datasets/fer2013', variants: [{ name: 'cnn', model: 'cnn' }], resources },
    }),
  });
  expect(res.status).toBe(201);
  return kube.waitFor(() => kube.getJob(`fs-${sweep}-cnn`, namespace), { what: `the Job of ${sweep}` });
}

describe('trial Jobs of a coordinator configured by the chart', () => {
  it('ci/external-values.yaml (private registry): the Job pulls with regcred, as the trainers’ ServiceAccount, with the S3 Secret', async () => {
    const job = await jobFor(await render('external-values.yaml'), 'private-registry');
    const pod = job.spec!.template.spec!;
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.serviceAccountName).toBe('fs-fersweep-trainer');
    expect(pod.containers[0]!.image).toBe('registry.example.com/ml/fersweep:0.1.0-gpu');
    expect(pod.containers[0]!.envFrom).toEqual([
      { configMapRef: { name: 'fs-fersweep-trainer' } },
      { secretRef: { name: 'fs-fersweep-s3' } },
    ]);
  });

  it('ci/kueue-values.yaml (IRSA, A100 pool, Kueue): no S3 Secret, the pool’s scheduling, the queue and the shared CUDA cache', async () => {
    const job = await jobFor(await render('kueue-values.yaml'), 'irsa');
    const pod = job.spec!.template.spec!;
    expect(pod.containers[0]!.envFrom).toEqual([{ configMapRef: { name: 'fs-fersweep-trainer' } }]);
    expect(pod.serviceAccountName).toBe('fs-fersweep-trainer');
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.priorityClassName).toBe('ml-batch-low');
    expect(job.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('team-vision');
    expect(job.spec!.suspend).toBe(true);
    const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ FERSWEEP_TF_BACKEND: 'gpu', CUDA_CACHE_PATH: '/var/cache/fersweep/cuda' });
    expect(pod.volumes).toContainEqual({
      name: 'cuda-cache',
      persistentVolumeClaim: { claimName: 'fersweep-cuda-cache' },
    });
  });
});

describe('trial Jobs of a coordinator configured by a kustomize overlay', () => {
  it('k8s/overlays/gpu-cluster: the GPU node selector, the nvidia.com/gpu toleration and the priority class reach the Job', async () => {
    const job = await jobFor(await kustomize('overlays/gpu-cluster'), 'gpu-overlay');
    const pod = job.spec!.template.spec!;
    expect(job.metadata!.namespace).toBe('fersweep');
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.priorityClassName).toBe('fersweep-trainer');
  });

  it('k8s/overlays/dev: CPU trainers from the CPU image, the in-cluster MinIO and the dev S3 Secret', async () => {
    const objects = await kustomize('overlays/dev');
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'fersweep-trainer')!;
    expect(cm.data).toMatchObject({ AWS_ENDPOINT_URL_S3: 'http://minio:9000', FERSWEEP_S3_FORCE_PATH_STYLE: 'true' });
    const job = await jobFor(objects, 'dev-overlay', { gpu: 0, cpu: '1', memory: '2Gi' });
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe('ghcr.io/fersweep/fersweep:0.1.0');
    expect(container.envFrom).toContainEqual({ secretRef: { name: 'fersweep-s3' } });
    expect(container.env!.map((e) => e.name)).not.toContain('FERSWEEP_TF_BACKEND');
  });
});
