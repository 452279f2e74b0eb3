import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from '@fersweep/kube-fake';
import type { RunningS3, RunningServer } from '@fersweep/testkit';

/**
 * What the Helm chart creates for the trainer Jobs: NATS and S3 settings in the `fersweep-trainer`
 * ConfigMap, credentials in the `fersweep-s3` Secret — both taken by reference (envFrom).
 */
export async function createTrainerConfig(kube: FakeKube, nats: RunningServer, s3: RunningS3): Promise<void> {
  const core = kube.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...settings } = s3.env;
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: {
      metadata: { name: 'fersweep-trainer' },
      data: { ...settings, NATS_URL: nats.url, FERSWEEP_TF_BACKEND: 'wasm' },
    },
  });
  await core.createNamespacedSecret({
    namespace: 'default',
    body: {
      metadata: { name: 'fersweep-s3' },
      stringData: { AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY! },
    },
  });
}

/** Polls `GET /v1/sweeps/{id}` until `ok` holds for its view; throws with the last view after `ms`. */
export async function pollSweep<V extends { phase: string }>(
  api: string,
  id: string,
  headers: Record<string, string>,
  ok: (v: V) => boolean,
  ms = 120_000,
): Promise<V> {
  const end = Date.now() + ms;
  let v: V | undefined;
  while (Date.now() < end) {
    v = (await (await fetch(`${api}/v1/sweeps/${id}`, { headers })).json()) as V;
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out: ${JSON.stringify(v)}`);
}
