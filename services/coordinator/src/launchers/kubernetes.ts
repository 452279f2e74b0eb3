import * as k8s from '@kubernetes/client-node';
import { TrialLaunch, type TrialSpec } from '@fersweep/contracts';
import type { Logger } from '@fersweep/observability';
import type { CoordinatorConfig } from '../config.js';
import { buildJob, CONTAINER, jobName, jobStatus, LABELS, MANAGED_BY, type JobTemplate } from './job.js';
import type { LaunchOptions, LaunchStatus, Launcher } from './types.js';

export interface KubernetesLauncherOptions extends JobTemplate {
  kubeConfig: k8s.KubeConfig;
  logger: Logger;
  /** Cluster defaults applied where a sweep's resources leave them empty (Helm values `trainer.*`). */
  defaults?: TrainerDefaults;
}

export interface TrainerDefaults {
  nodeSelector?: Record<string, string>;
  tolerations?: LaunchOptions['resources']['tolerations'];
  priorityClassName?: string;
  queueName?: string;
}

/** A sweep's own settings win; the cluster's defaults fill what it left empty. */
export function withDefaults(options: LaunchOptions, d: TrainerDefaults = {}): LaunchOptions {
  const r = options.resources;
  const resources = {
    ...r,
    nodeSelector: Object.keys(r.nodeSelector).length ? r.nodeSelector : (d.nodeSelector ?? {}),
    tolerations: r.tolerations.length ? r.tolerations : (d.tolerations ?? []),
    ...((r.priorityClassName ?? d.priorityClassName)
      ? { priorityClassName: r.priorityClassName ?? d.priorityClassName }
      : {}),
  };
  const queueName = options.queueName ?? d.queueName;
  return { ...options, resources, ...(queueName ? { queueName } : {}) };
}

const isStatus = (err: unknown, code: number) => err instanceof k8s.ApiException && err.code === code;

/**
 * One batch/v1 Job per trial through @kubernetes/client-node. Status follows an informer (list +
 * watch from the list's resourceVersion, relisting on 410 Gone), never polling. Creating a Job that
 * already exists adopts it, so a restarted coordinator never duplicates a trial.
 */
export class KubernetesLauncher implements Launcher {
  readonly kind = 'kubernetes' as const;
  private readonly batch: k8s.BatchV1Api;
  private readonly core: k8s.CoreV1Api;
  private informer?: k8s.Informer<k8s.V1Job> & k8s.ObjectCache<k8s.V1Job>;
  private readonly watchers = new Set<(s: LaunchStatus) => void>();
  private readonly selector = `${LABELS.managedBy}=${MANAGED_BY}`;
  private stopped = false;

  constructor(private readonly options: KubernetesLauncherOptions) {
    this.batch = options.kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  /**
   * In-cluster service account when running in a pod, else KUBECONFIG / ~/.kube/config; the Job
   * template and the cluster defaults from the coordinator's configuration (FERSWEEP_TRAINER_*).
   */
  static fromEnvironment(o: { config: CoordinatorConfig; logger: Logger; env: NodeJS.ProcessEnv }): KubernetesLauncher {
    const c = o.config;
    const kc = new k8s.KubeConfig();
    if (o.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else if (o.env.KUBECONFIG) kc.loadFromFile(o.env.KUBECONFIG);
    else kc.loadFromDefault();
    const defaults: TrainerDefaults = {
      ...(c.FERSWEEP_TRAINER_NODE_SELECTOR ? { nodeSelector: c.FERSWEEP_TRAINER_NODE_SELECTOR } : {}),
      ...(c.FERSWEEP_TRAINER_TOLERATIONS ? { tolerations: c.FERSWEEP_TRAINER_TOLERATIONS } : {}),
      ...(c.FERSWEEP_TRAINER_PRIORITY_CLASS ? { priorityClassName: c.FERSWEEP_TRAINER_PRIORITY_CLASS } : {}),
      ...(c.FERSWEEP_KUEUE_QUEUE ? { queueName: c.FERSWEEP_KUEUE_QUEUE } : {}),
    };
    if (!c.FERSWEEP_TRAINER_SECRET)
      o.logger.info('FERSWEEP_TRAINER_SECRET is not set: trainer pods get no S3 keys (IRSA / workload identity)');
    return new KubernetesLauncher({
      kubeConfig: kc,
      logger: o.logger,
      namespace: c.FERSWEEP_NAMESPACE,
      image: c.FERSWEEP_TRAINER_IMAGE,
      configMapName: c.FERSWEEP_TRAINER_CONFIGMAP,
      ...(c.FERSWEEP_TRAINER_SECRET ? { secretName: c.FERSWEEP_TRAINER_SECRET } : {}),
      ...(c.FERSWEEP_TRAINER_NATS_SECRET ? { natsSecretName: c.FERSWEEP_TRAINER_NATS_SECRET } : {}),
      ...(c.FERSWEEP_TRAINER_SERVICE_ACCOUNT ? { serviceAccountName: c.FERSWEEP_TRAINER_SERVICE_ACCOUNT } : {}),
      ...(c.FERSWEEP_TRAINER_IMAGE_PULL_SECRETS?.length
        ? { imagePullSecrets: c.FERSWEEP_TRAINER_IMAGE_PULL_SECRETS }
        : {}),
      ...(c.FERSWEEP_TRAINER_CUDA_CACHE_CLAIM ? { cudaCacheClaim: c.FERSWEEP_TRAINER_CUDA_CACHE_CLAIM } : {}),
      defaults,
    });
  }

  async launch(spec: TrialSpec, options: LaunchOptions): Promise<void> {
    const body = buildJob(spec, withDefaults(options, this.options.defaults), this.options);
    try {
      await this.batch.createNamespacedJob({ namespace: this.options.namespace, body });
      this.options.logger.info('job created', { sweep: spec.sweep, trial: spec.trial, job: body.metadata?.name });
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      await this.adoptOrReplace(spec, body.metadata!.name!);
    }
  }

  /**
   * A Job of this trial exists already. It is this launch's (a create retried, a restart) → adopt it. It is an
   * earlier launch's — its create's response was lost and the trial was launched again — → its events carry
   * a launch the coordinator replaced and would be refused as stale, so it is deleted (foreground: the Job
   * stays until its pods are gone, so two runs never overlap) and the launch fails, to be retried.
   */
  private async adoptOrReplace(spec: TrialSpec, name: string): Promise<void> {
    const namespace = this.options.namespace;
    const existing = await this.batch.readNamespacedJob({ name, namespace }).catch((e: unknown) => {
      if (isStatus(e, 404)) return undefined; // deleted meanwhile: the retry creates it
      throw e;
    });
    const theirs = existing && launchOfJob(existing);
    const ours = spec.launch;
    if (existing && (!ours || (theirs?.seq === ours.seq && theirs.nonce === ours.nonce))) {
      this.options.logger.info('job exists: adopting it', { sweep: spec.sweep, trial: spec.trial, job: name });
      return;
    }
    if (existing && !existing.metadata?.deletionTimestamp) {
      this.options.logger.warn('job of an earlier launch of this trial: deleting it, then launching again', {
        sweep: spec.sweep,
        trial: spec.trial,
        job: name,
        ...(theirs ? { theirSeq: theirs.seq } : {}),
        ...(ours ? { seq: ours.seq } : {}),
      });
      await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch((e: unknown) => {
        if (!isStatus(e, 404)) throw e;
      });
    }
    throw new Error(`job ${name} belongs to an earlier launch of this trial and is being replaced: retrying`);
  }

  async cancel(sweep: string, trial: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({
        name: jobName(sweep, trial),
        namespace: this.options.namespace,
        propagationPolicy: 'Background',
      });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async list(): Promise<LaunchStatus[]> {
    const out: LaunchStatus[] = [];
    let token: string | undefined;
    do {
      const page = await this.batch.listNamespacedJob({
        namespace: this.options.namespace,
        labelSelector: this.selector,
        limit: 500,
        ...(token ? { _continue: token } : {}),
      });
      for (const job of page.items) {
        const s = jobStatus(job);
        if (s) out.push(s);
      }
      token = page.metadata?._continue || undefined;
    } while (token);
    return out;
  }

  async watch(onStatus: (s: LaunchStatus) => void): Promise<() => void> {
    this.watchers.add(onStatus);
    if (!this.informer) {
      const ns = this.options.namespace;
      const informer = k8s.makeInformer<k8s.V1Job>(
        this.options.kubeConfig,
        `/apis/batch/v1/namespaces/${ns}/jobs`,
        () => this.batch.listNamespacedJob({ namespace: ns, labelSelector: this.selector }),
        this.selector,
      );
      const emit = (job: k8s.V1Job) => {
        const s = jobStatus(job);
        if (s) for (const w of this.watchers) w(s);
      };
      informer.on('add', emit);
      informer.on('update', emit);
      informer.on('error', (err: unknown) => {
        if (this.stopped) return;
        this.options.logger.warn('job watch interrupted: restarting it', {
          error: err instanceof Error ? err.message : String(err),
        });
        setTimeout(() => void (this.stopped ? undefined : informer.start().catch(() => undefined)), 1000).unref();
      });
      this.informer = informer;
      await informer.start();
    }
    return () => this.watchers.delete(onStatus);
  }

  async logs(sweep: string, trial: string): Promise<string> {
    const pods = await this.core.listNamespacedPod({
      namespace: this.options.namespace,
      labelSelector: `job-name=${jobName(sweep, trial)}`,
    });
    const latest = pods.items
      .sort((a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
      )
      .pop();
    if (!latest?.metadata?.name) return '';
    return this.core.readNamespacedPodLog({
      name: latest.metadata.name,
      namespace: this.options.namespace,
      container: CONTAINER,
      tailLines: 2000,
    });
  }

  async close(): Promise<void> {
    // Jobs outlive the coordinator on purpose: a restarted one adopts them.
    this.stopped = true;
    await this.informer?.stop();
  }
}

/** The launch a trainer Job was started with (in its TrialSpec argument), if it parses. */
export function launchOfJob(job: k8s.V1Job): TrialLaunch | undefined {
  const container = job.spec?.template.spec?.containers.find((c) => c.name === CONTAINER);
  for (const arg of container?.args ?? []) {
    if (!arg.startsWith('{')) continue;
    try {
      const parsed = TrialLaunch.safeParse((JSON.parse(arg) as { launch?: unknown }).launch);
      if (parsed.success) return parsed.data;
    } catch {
      // not the spec argument
    }
  }
  return undefined;
}
