import * as k8s from '@kubernetes/client-node';
import { KubernetesLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { IMAGE_FERSWEEP } from '@fersweep/contracts';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '@fersweep/kube-fake';
import { createLogger, type Logger } from '@fersweep/observability';
import { startNats, startS3, type RunningS3, type RunningServer } from '@fersweep/testkit';

/**
 * What the Helm chart creates for the trainer Jobs: NATS and S3 settings in the `fersweep-trainer`
 * ConfigMap, credentials in the `fersweep-s3` Secret — both taken by reference (envFrom).
 */
/**
 * kube-fake's mapping of a trainer Job's container command (`node <trainer options> /usr/local/bin/fersweep
 * train …`, TRAINER_IMAGE_COMMAND) to this machine: this node, and `bin` (this checkout's bin/fersweep.js or a
 * scripted trainer) for the image's fersweep.
 */
export function trainerImage(bin: string): Pick<FakeKubeOptions, 'commands' | 'mapCommand'> {
  return {
    commands: { node: [process.execPath] },
    mapCommand: (argv) => argv.map((a) => (a === IMAGE_FERSWEEP ? bin : a)),
  };
}

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

/** The Kubernetes launcher on the fake API server, with the trainer ConfigMap and Secret of {@link createTrainerConfig}. */
export function kubeLauncher(kube: FakeKube, logger: Logger): KubernetesLauncher {
  return new KubernetesLauncher({
    kubeConfig: kube.kubeConfig,
    namespace: 'default',
    image: 'fersweep:test',
    logger,
    configMapName: 'fersweep-trainer',
    secretName: 'fersweep-s3',
    terminationGracePeriodSeconds: 5,
  });
}

/**
 * A coordinator with the Kubernetes launcher against the fake kube-apiserver (namespace `default`,
 * the chart's trainer ConfigMap and Secret), NATS and S3, API token `tok`.
 */
export function startKubeCoordinator(
  kube: FakeKube,
  nats: RunningServer,
  s3: RunningS3,
  logger: Logger,
): Promise<Coordinator> {
  const launcher = kubeLauncher(kube, logger);
  const env = {
    PATH: process.env.PATH ?? '',
    NATS_URL: nats.url,
    FERSWEEP_STORE: 's3://fersweep',
    FERSWEEP_API_TOKENS: 'tok',
    FERSWEEP_LAUNCHER: 'kubernetes',
    ...s3.env,
  };
  return startCoordinator({ env, port: 0, host: '127.0.0.1', logger, launcher });
}

/** A coordinator on the Kubernetes launcher against the fake kube-apiserver, with real NATS and S3. */
export interface CurveStack {
  nats: RunningServer;
  s3: RunningS3;
  kube: FakeKube;
  coordinator: Coordinator;
  stop(): Promise<void>;
}

/**
 * Starts nats-server, the S3 server, the fake kube-apiserver whose pods run `trainer` (a scripted
 * trainer such as the coordinator's curve-trainer fixture) and a coordinator with the Kubernetes
 * launcher and API token `tok`; the trainer ConfigMap and Secret as the chart creates them.
 */
export async function startCurveStack(trainer: string): Promise<CurveStack> {
  const logger = createLogger({ service: 'coordinator', silent: true });
  const [nats, s3] = await Promise.all([startNats(), startS3()]);
  const kube = await startFakeKube({
    ...trainerImage(trainer),
    terminationGracePeriodSeconds: 5,
  });
  await s3.createBucket('fersweep');
  Object.assign(process.env, s3.env);
  await createTrainerConfig(kube, nats, s3);
  const coordinator = await startKubeCoordinator(kube, nats, s3, logger);
  return {
    nats,
    s3,
    kube,
    coordinator,
    async stop() {
      await coordinator.stop();
      await kube.stop();
      await Promise.all([nats.stop(), s3.stop()]);
    },
  };
}
