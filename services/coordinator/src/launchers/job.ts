import { createHash } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import { PERMANENT_EXIT_CODES, TRAINER_IMAGE_COMMAND, type TrialSpec } from '@fersweep/contracts';
import type { LaunchOptions, LaunchStatus } from './types.js';

export const LABELS = {
  sweep: 'fersweep.io/sweep',
  trial: 'fersweep.io/trial',
  variant: 'fersweep.io/variant',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const MANAGED_BY = 'fersweep-coordinator';
export const CONTAINER = 'trainer';
/** Where GPU trials keep the CUDA compute cache (CUDA_CACHE_PATH). */
export const CUDA_CACHE_PATH = '/var/cache/fersweep/cuda';
/** 4 GiB: libtensorflow's JIT-compiled kernels outgrow CUDA's 256 MiB default and would be evicted. */
export const CUDA_CACHE_MAXSIZE = String(4 * 1024 ** 3);

export interface JobTemplate {
  namespace: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** ConfigMap with NATS_URL, AWS_ENDPOINT_URL_S3, AWS_REGION… (by reference, never inlined). */
  configMapName?: string;
  /** Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (by reference, never inlined). */
  secretName?: string;
  /** Secret with NATS_USER / NATS_PASSWORD: the trainers' least-privilege NATS user (by reference). */
  natsSecretName?: string;
  serviceAccountName?: string;
  /** Secrets for pulling the trainer image from a private registry. */
  imagePullSecrets?: string[];
  /** PVC (ReadWriteMany) holding the CUDA compute cache of GPU trials; unset = a per-pod emptyDir. */
  cudaCacheClaim?: string;
  ttlSecondsAfterFinished?: number;
  terminationGracePeriodSeconds?: number;
}

/** A label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends (else hashed). */
export function labelValue(v: string): string {
  if (/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(v)) return v;
  const clean = v.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  const hash = createHash('sha256').update(v).digest('hex').slice(0, 8);
  return `${clean.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`.replace(/^-/, '');
}

/**
 * The Job's name: `fs-<sweep>-<trial>`, a DNS-1123 label of at most 63 characters, the same for
 * the same trial every time (so a restarted coordinator finds — and never duplicates — it). Too
 * long: truncated, with 8 hex characters of the full name's sha256 to stay unique.
 */
export function jobName(sweep: string, trial: string): string {
  const full = `fs-${sweep}-${trial}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (full.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(full)) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** Whole cores in a Kubernetes cpu quantity ("4", "2.5", "1500m", 3), at least 1: the trainer's threads. */
export function cpuThreads(cpu: string | number): number {
  const text = String(cpu).trim();
  const cores = text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
  return Number.isFinite(cores) ? Math.max(1, Math.floor(cores)) : 1;
}

/**
 * One batch/v1 Job for one trial: restartPolicy Never, backoffLimit = retries, a podFailurePolicy
 * that fails the Job at once on the trainer's permanent exit codes and ignores disruptions
 * (preemption, node drain), a deadline, GPU limits, the restricted pod security profile, and S3/NATS
 * settings from a ConfigMap and a Secret by reference. A GPU trial requires the GPU backend
 * (FERSWEEP_TF_BACKEND=gpu) and keeps the CUDA compute cache on `cudaCacheClaim` when given. The trial spec travels as one argv element
 * (no shell), validated JSON.
 */
export function buildJob(spec: TrialSpec, options: LaunchOptions, t: JobTemplate): V1Job {
  const r = options.resources;
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': 'fersweep',
    'app.kubernetes.io/component': 'trainer',
    'app.kubernetes.io/part-of': 'fersweep',
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.sweep]: labelValue(spec.sweep),
    [LABELS.trial]: labelValue(spec.trial),
    [LABELS.variant]: labelValue(spec.variant),
    ...(options.queueName ? { 'kueue.x-k8s.io/queue-name': labelValue(options.queueName) } : {}),
  };
  const limits: Record<string, string> = {
    cpu: String(r.cpu),
    memory: String(r.memory),
    ...(r.gpu > 0 ? { 'nvidia.com/gpu': String(r.gpu) } : {}),
  };
  // A trial that asked for a GPU must train on it: the trainer exits TRAINER_EXIT.gpuUnavailable
  // (permanent, see podFailurePolicy) instead of falling back to the CPU while holding the GPU.
  const gpu = r.gpu > 0;
  const env = [
    { name: 'HOME', value: '/tmp' },
    ...(gpu
      ? [
          { name: 'FERSWEEP_TF_BACKEND', value: 'gpu' },
          { name: 'FERSWEEP_GPUS_REQUESTED', value: String(r.gpu) },
          { name: 'CUDA_CACHE_PATH', value: CUDA_CACHE_PATH },
          { name: 'CUDA_CACHE_MAXSIZE', value: CUDA_CACHE_MAXSIZE },
        ]
      : [
          // The trainer counts its cgroup quota too; naming the count makes the Job's cpu the thread count
          // whatever the node's cgroup layout (FERSWEEP_TRAIN_THREADS caps data-parallel training).
          { name: 'FERSWEEP_TRAIN_THREADS', value: String(cpuThreads(r.cpu)) },
        ]),
  ];
  const volumeMounts = [
    { name: 'tmp', mountPath: '/tmp' },
    ...(gpu ? [{ name: 'cuda-cache', mountPath: CUDA_CACHE_PATH }] : []),
  ];
  const volumes = [
    { name: 'tmp', emptyDir: {} },
    ...(gpu
      ? [
          t.cudaCacheClaim
            ? { name: 'cuda-cache', persistentVolumeClaim: { claimName: t.cudaCacheClaim } }
            : { name: 'cuda-cache', emptyDir: {} },
        ]
      : []),
  ];
  const envFrom = [
    ...(t.configMapName ? [{ configMapRef: { name: t.configMapName } }] : []),
    ...(t.secretName ? [{ secretRef: { name: t.secretName } }] : []),
    ...(t.natsSecretName ? [{ secretRef: { name: t.natsSecretName } }] : []),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(spec.sweep, spec.trial),
      namespace: t.namespace,
      labels,
      annotations: { 'fersweep.io/trial-spec-sha256': createHash('sha256').update(JSON.stringify(spec)).digest('hex') },
    },
    spec: {
      backoffLimit: options.retries,
      activeDeadlineSeconds: options.deadlineSeconds,
      ttlSecondsAfterFinished: t.ttlSecondsAfterFinished ?? 86_400,
      ...(options.queueName ? { suspend: true } : {}),
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: { containerName: CONTAINER, operator: 'In', values: [...PERMANENT_EXIT_CODES] },
          },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(t.serviceAccountName ? { serviceAccountName: t.serviceAccountName } : {}),
          ...(t.imagePullSecrets?.length ? { imagePullSecrets: t.imagePullSecrets.map((name) => ({ name })) } : {}),
          terminationGracePeriodSeconds: t.terminationGracePeriodSeconds ?? 120,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(Object.keys(r.nodeSelector).length ? { nodeSelector: r.nodeSelector } : {}),
          ...(r.tolerations.length ? { tolerations: r.tolerations } : {}),
          ...(r.priorityClassName ? { priorityClassName: r.priorityClassName } : {}),
          containers: [
            {
              name: CONTAINER,
              image: t.image,
              imagePullPolicy: t.imagePullPolicy ?? 'IfNotPresent',
              command: [...TRAINER_IMAGE_COMMAND],
              args: ['train', '--trial', JSON.stringify(spec)],
              ...(envFrom.length ? { envFrom } : {}),
              env,
              resources: { limits, requests: { cpu: String(r.cpu), memory: String(r.memory) } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** What the coordinator needs to know from a Job object. */
export function jobStatus(job: V1Job): LaunchStatus | undefined {
  const labels = job.metadata?.labels ?? {};
  const sweep = labels[LABELS.sweep];
  const trial = labels[LABELS.trial];
  if (!sweep || !trial) return undefined;
  // A Job being deleted (cancelled, purged, or replaced as an earlier launch's run) reports nothing: the
  // coordinator settled its trial when it deleted it, and a restarted coordinator must not adopt it.
  if (job.metadata?.deletionTimestamp) return undefined;
  const s = job.status ?? {};
  const conditions = s.conditions ?? [];
  const done = conditions.find((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'));
  const failures = s.failed ?? 0;
  const attempts = failures + (s.active ?? 0) + (s.succeeded ?? 0);
  const base = { sweep, trial, attempts, failures, preemptions: 0 };
  if (done?.type === 'Complete') return { ...base, phase: 'Succeeded', exitCode: 0 };
  if (done?.type === 'Failed') {
    const code = /exit code (\d+)/i.exec(done.message ?? '')?.[1];
    return {
      ...base,
      phase: 'Failed',
      reason: done.reason === 'PodFailurePolicy' ? 'PermanentError' : (done.reason ?? 'Failed'),
      ...(done.message ? { message: done.message } : {}),
      ...(code ? { exitCode: Number(code) } : {}),
    };
  }
  if ((s.active ?? 0) > 0) return { ...base, phase: 'Running' };
  return { ...base, phase: 'Pending' };
}
