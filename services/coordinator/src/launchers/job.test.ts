import { describe, expect, it } from '@jest/globals';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ResourcesSpec, TrialSpec } from '@fersweep/contracts';
import { loadConfig } from '../config.js';
import { launchOfJob } from './kubernetes.js';
import { buildJob, cpuThreads, jobName, jobStatus, labelValue } from './job.js';
import { withDefaults } from './kubernetes.js';

const spec = TrialSpec.parse({
  sweep: 'cnn-vs-mobilenetv2',
  trial: 'mobilenetv2-03',
  variant: 'mobilenetv2',
  model: 'mobilenetv2',
  params: { alpha: 1 },
  dataset: 's3://fersweep/datasets/fer2013',
  output: 's3://fersweep',
  epochs: 100,
});
const options = {
  retries: 3,
  deadlineSeconds: 86_400,
  resources: ResourcesSpec.parse({ gpu: 1, nodeSelector: { pool: 'gpu' } }),
};
const template = {
  namespace: 'ml',
  image: 'ghcr.io/fersweep/fersweep:0.1.0',
  configMapName: 'fersweep-trainer',
  secretName: 'fersweep-s3',
};

describe('buildJob', () => {
  const job = buildJob(spec, options, template);

  it('is a valid batch/v1 Job by the Kubernetes schema', () => {
    expect(() => new Job(job as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();
  });

  it('fails at once on permanent exit codes, ignores disruptions, and retries the rest up to `retries`', () => {
    expect(job.spec?.backoffLimit).toBe(3);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.podFailurePolicy?.rules).toEqual([
      { action: 'FailJob', onExitCodes: { containerName: 'trainer', operator: 'In', values: [42, 43, 44] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
    expect(job.spec?.activeDeadlineSeconds).toBe(86_400);
  });

  it('a GPU trial requires the GPU backend and keeps the CUDA compute cache on a volume; a CPU trial neither', () => {
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'FERSWEEP_TF_BACKEND', value: 'gpu' },
        { name: 'FERSWEEP_GPUS_REQUESTED', value: '1' },
        { name: 'CUDA_CACHE_PATH', value: '/var/cache/fersweep/cuda' },
        { name: 'CUDA_CACHE_MAXSIZE', value: String(4 * 1024 ** 3) },
      ]),
    );
    expect(c.volumeMounts).toContainEqual({ name: 'cuda-cache', mountPath: '/var/cache/fersweep/cuda' });
    expect(job.spec!.template.spec!.volumes).toContainEqual({ name: 'cuda-cache', emptyDir: {} });
    const shared = buildJob(spec, options, { ...template, cudaCacheClaim: 'cuda-cache-rwx' });
    expect(shared.spec!.template.spec!.volumes).toContainEqual({
      name: 'cuda-cache',
      persistentVolumeClaim: { claimName: 'cuda-cache-rwx' },
    });
    const cpu = buildJob(spec, { ...options, resources: ResourcesSpec.parse({ gpu: 0 }) }, template);
    const cpuContainer = cpu.spec!.template.spec!.containers[0]!;
    // A CPU trial trains with as many data-parallel threads as its cpu quantity has whole cores.
    expect(cpuContainer.env).toEqual([
      { name: 'HOME', value: '/tmp' },
      { name: 'FERSWEEP_TRAIN_THREADS', value: '4' },
    ]);
    expect(cpuContainer.resources?.limits?.cpu).toBe('4');
    expect([cpuThreads('2.5'), cpuThreads('1500m'), cpuThreads('500m'), cpuThreads(8)]).toEqual([2, 1, 1, 8]);
    expect(cpu.spec!.template.spec!.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('pulls with the given imagePullSecrets; none by default', () => {
    expect(job.spec!.template.spec!.imagePullSecrets).toBeUndefined();
    const pod = buildJob(spec, options, { ...template, imagePullSecrets: ['regcred', 'mirror'] }).spec!.template.spec!;
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'mirror' }]);
  });

  it('runs non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.resources?.limits).toMatchObject({ 'nvidia.com/gpu': '1' });
    expect(pod.nodeSelector).toEqual({ pool: 'gpu' });
  });

  it('takes S3 and NATS settings by reference and passes the trial as one argument', () => {
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'fersweep-trainer' } }, { secretRef: { name: 'fersweep-s3' } }]);
    expect(JSON.stringify(c.env)).not.toMatch(/SECRET|PASSWORD/);
    // The image's fersweep under node with the trainer's V8 options.
    expect(c.command).toEqual(['node', '--single-threaded-gc', '/usr/local/bin/fersweep']);
    expect(TrialSpec.parse(JSON.parse(c.args![2]!))).toEqual(spec);
  });

  it('labels for selection and Kueue', () => {
    expect(job.metadata?.labels).toMatchObject({
      'fersweep.io/sweep': 'cnn-vs-mobilenetv2',
      'fersweep.io/trial': 'mobilenetv2-03',
      'app.kubernetes.io/managed-by': 'fersweep-coordinator',
    });
    const queued = buildJob(spec, { ...options, queueName: 'gpu-queue' }, template);
    expect(queued.spec?.suspend).toBe(true);
    expect(queued.metadata?.labels?.['kueue.x-k8s.io/queue-name']).toBe('gpu-queue');
  });
});

describe('names', () => {
  it('are deterministic DNS-1123 labels of at most 63 characters', () => {
    expect(jobName('s', 't')).toBe('fs-s-t');
    const long = jobName('a'.repeat(40), 'b'.repeat(40));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(jobName('a'.repeat(40), 'b'.repeat(40))).toBe(long);
    expect(jobName('a'.repeat(40), 'b'.repeat(39) + 'c')).not.toBe(long);
  });
  it('sanitise label values that the API would refuse', () => {
    expect(labelValue('ok-value_1.2')).toBe('ok-value_1.2');
    const v = labelValue('bad value; rm -rf / $(x)');
    expect(v).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
    expect(labelValue('x'.repeat(80)).length).toBeLessThanOrEqual(63);
  });
});

describe('jobStatus', () => {
  const base = buildJob(spec, options, template);
  it('reports nothing for a Job being deleted (its trial was settled when it was deleted)', () => {
    const deleting = { ...base, metadata: { ...base.metadata, deletionTimestamp: new Date() } };
    expect(jobStatus({ ...deleting, status: { active: 1 } })).toBeUndefined();
  });

  it('reads back the launch a Job was started with', () => {
    const launch = { seq: 3, nonce: 'n'.repeat(43) };
    expect(launchOfJob(buildJob({ ...spec, launch }, options, template))).toEqual(launch);
    expect(launchOfJob(base)).toBeUndefined(); // started without one (before launches existed)
  });

  it('maps conditions and counters', () => {
    expect(jobStatus({ ...base, status: { active: 1, failed: 1 } })).toMatchObject({
      phase: 'Running',
      attempts: 2,
      failures: 1,
    });
    expect(
      jobStatus({ ...base, status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } }),
    ).toMatchObject({ phase: 'Succeeded' });
    expect(
      jobStatus({
        ...base,
        status: {
          failed: 1,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'PodFailurePolicy',
              message: 'Container trainer for pod ml/x failed with exit code 42 matching FailJob rule at index 0',
            },
          ],
        },
      }),
    ).toMatchObject({ phase: 'Failed', reason: 'PermanentError', exitCode: 42 });
    expect(jobStatus({ metadata: { name: 'other' } })).toBeUndefined();
  });
});

describe('cluster defaults (Helm trainer.* values)', () => {
  const defaults = {
    nodeSelector: { 'nvidia.com/gpu.present': 'true' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }],
    priorityClassName: 'training',
    queueName: 'gpu-queue',
  };
  it('fill what a sweep leaves empty', () => {
    const bare = { retries: 1, deadlineSeconds: 60, resources: ResourcesSpec.parse({}) };
    const job = buildJob(spec, withDefaults(bare, defaults), template);
    const pod = job.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual(defaults.nodeSelector);
    expect(pod.tolerations).toEqual(defaults.tolerations);
    expect(pod.priorityClassName).toBe('training');
    expect(job.spec?.suspend).toBe(true);
    expect(job.metadata?.labels?.['kueue.x-k8s.io/queue-name']).toBe('gpu-queue');
  });
  it('never override what the sweep set', () => {
    const own = {
      retries: 1,
      deadlineSeconds: 60,
      queueName: 'mine',
      resources: ResourcesSpec.parse({ nodeSelector: { pool: 'a100' }, priorityClassName: 'urgent' }),
    };
    const job = buildJob(spec, withDefaults(own, defaults), template);
    expect(job.spec!.template.spec!.nodeSelector).toEqual({ pool: 'a100' });
    expect(job.spec!.template.spec!.priorityClassName).toBe('urgent');
    expect(job.metadata?.labels?.['kueue.x-k8s.io/queue-name']).toBe('mine');
  });
});

describe('loadConfig', () => {
  it('parses the trainer defaults and names a malformed variable', () => {
    const c = loadConfig({
      FERSWEEP_TRAINER_NODE_SELECTOR: '{"pool":"gpu"}',
      FERSWEEP_TRAINER_TOLERATIONS: '[{"key":"k","operator":"Exists"}]',
    });
    expect(c.FERSWEEP_TRAINER_NODE_SELECTOR).toEqual({ pool: 'gpu' });
    expect(() => loadConfig({ FERSWEEP_TRAINER_TOLERATIONS: '[{"operator":"Sometimes"}]' })).toThrow(
      /FERSWEEP_TRAINER_TOLERATIONS/,
    );
    expect(() => loadConfig({ FERSWEEP_TRAINER_NODE_SELECTOR: 'pool=gpu' })).toThrow(
      /FERSWEEP_TRAINER_NODE_SELECTOR=.*must be JSON/,
    );
    expect(() => loadConfig({ FERSWEEP_PORT: 'eighty' })).toThrow(/FERSWEEP_PORT/);
    expect(() => loadConfig({ FERSWEEP_LAUNCHER: 'kubernetes' })).toThrow(/FERSWEEP_API_TOKENS is required/);
  });
});

describe('loadConfig: the trainer Job template', () => {
  it('has no S3 Secret unless FERSWEEP_TRAINER_SECRET names one (IRSA / workload identity)', () => {
    const c = loadConfig({});
    expect(c.FERSWEEP_TRAINER_SECRET).toBeUndefined();
    expect(c.FERSWEEP_TRAINER_CONFIGMAP).toBe('fersweep-trainer');
    expect(loadConfig({ FERSWEEP_TRAINER_SECRET: 'fs-s3' }).FERSWEEP_TRAINER_SECRET).toBe('fs-s3');
  });
  it('parses pull secrets and names a bad one', () => {
    expect(
      loadConfig({ FERSWEEP_TRAINER_IMAGE_PULL_SECRETS: 'regcred, mirror' }).FERSWEEP_TRAINER_IMAGE_PULL_SECRETS,
    ).toEqual(['regcred', 'mirror']);
    expect(() => loadConfig({ FERSWEEP_TRAINER_IMAGE_PULL_SECRETS: 'Reg Cred' })).toThrow(
      /FERSWEEP_TRAINER_IMAGE_PULL_SECRETS=.*must be Secret names/,
    );
  });
});
