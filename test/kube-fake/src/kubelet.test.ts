/**
 * The job controller + kubelet simulator: Jobs created through the real client-node run their
 * container command as a local process, and report status as a cluster would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Job,
  type V1JobSpec,
  type V1Pod,
} from '@kubernetes/client-node';
import { startFakeKube, type FakeKube, type Job } from './index.js';

const NS = 'default';

/** A Job running `node -e <script>` (the image is not used: say any). */
function nodeJob(
  name: string,
  script: string,
  spec: Partial<V1JobSpec> = {},
  env: Array<{ name: string; value?: string }> = [],
): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { app: 'kube-fake-test' } },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'main', image: 'node:20-slim', command: ['node', '-e', script], env }],
        },
      },
    },
  };
}

const condition = (job: Job | undefined, type: string) =>
  job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('kube-fake kubelet simulator (client-node 1.4)', () => {
  let kube: FakeKube;
  let batch: BatchV1Api;
  let core: CoreV1Api;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-fake-'));
    kube = await startFakeKube({ cwd: dir, commands: { fake: [process.execPath] } });
    batch = kube.kubeConfig.makeApiClient(BatchV1Api);
    core = kube.kubeConfig.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const finished = (name: string) =>
    kube.waitFor(
      () => {
        const j = kube.getJob(name);
        return condition(j, 'Complete') || condition(j, 'Failed') ? j : undefined;
      },
      { what: `job ${name} to finish` },
    );

  it('completes a Job whose command exits 0, with the status and pod the real controllers write', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: nodeJob('ok', 'process.exit(0)') });
    await finished('ok');
    const job = await batch.readNamespacedJob({ name: 'ok', namespace: NS });
    expect(job.status).toMatchObject({ succeeded: 1, ready: 0, terminating: 0 });
    expect(job.status?.active).toBeUndefined();
    expect(job.status?.startTime).toBeInstanceOf(Date);
    expect(job.status?.completionTime).toBeInstanceOf(Date);
    expect(job.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Complete', status: 'True', reason: 'CompletionsReached' }),
    ]);
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=ok' });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0];
    expect(pod?.metadata?.name).toMatch(/^ok-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod?.metadata?.labels).toMatchObject({
      'job-name': 'ok',
      'controller-uid': job.metadata?.uid,
      'batch.kubernetes.io/job-name': 'ok',
      'batch.kubernetes.io/controller-uid': job.metadata?.uid,
    });
    expect(pod?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Job',
        name: 'ok',
        uid: job.metadata?.uid,
        controller: true,
        blockOwnerDeletion: true,
      }),
    ]);
    expect(pod?.metadata?.finalizers ?? []).toEqual([]);
    expect(pod?.status?.phase).toBe('Succeeded');
    expect(pod?.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  it('retries a failing command until backoffLimit, then fails with BackoffLimitExceeded after 2 pods', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: nodeJob('exit3', 'process.exit(3)', { backoffLimit: 1 }) });
    const job = await finished('exit3');
    expect(condition(job, 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(job.status?.failed).toBe(2);
    const pods = kube.listPods({ jobName: 'exit3' });
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Failed');
      expect(p.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    }
  });

  it('restarts an OnFailure container in place and counts its restarts against backoffLimit', async () => {
    const job = nodeJob('restarts', 'console.log("attempt"); process.exit(1)', { backoffLimit: 2 });
    const podSpec = job.spec?.template.spec;
    if (!podSpec) throw new Error('unreachable');
    podSpec.restartPolicy = 'OnFailure';
    const restarted = kube.waitFor(
      () =>
        kube.listPods({ jobName: 'restarts' }).find((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2),
      { what: 'two restarts' },
    );
    await batch.createNamespacedJob({ namespace: NS, body: job });
    const pod = await restarted;
    const done = await finished('restarts');
    expect(condition(done, 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(kube.podLog(pod.metadata.name ?? '', { previous: true })).toBe('attempt\n');
  });

  it('fails at once on an exit code that a podFailurePolicy FailJob rule names', async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('exit42', 'console.error("boom"); process.exit(42)', {
        backoffLimit: 5,
        podFailurePolicy: {
          rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }],
        },
      }),
    });
    const job = await finished('exit42');
    expect(condition(job, 'Failed')).toMatchObject({
      reason: 'PodFailurePolicy',
      message: expect.stringMatching(
        /^Container main for pod default\/exit42-\w{5} failed with exit code 42 matching FailJob rule at index 0$/,
      ),
    });
    expect(job.status?.failed).toBe(1);
    const pods = kube.listPods({ jobName: 'exit42' });
    expect(pods).toHaveLength(1);
    expect(kube.podLog(pods[0]?.metadata.name ?? '')).toBe('boom\n'); // stderr is part of the log
  });

  it('retries a preempted pod without counting it when podFailurePolicy ignores DisruptionTarget', async () => {
    const marker = join(dir, 'preempted');
    const script = `if (require('fs').existsSync(${JSON.stringify(marker)})) process.exit(0); console.log('waiting'); setInterval(() => {}, 1000);`;
    await batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('preempt', script, {
        backoffLimit: 0,
        podFailurePolicy: {
          rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
        },
      }),
    });
    const seen: V1Pod[] = [];
    const ctl = await new Watch(kube.kubeConfig).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { labelSelector: 'job-name=preempt' },
      (_type, pod: V1Pod) => seen.push(pod),
      () => undefined,
    );
    // Once the first pod has looked for the marker (and is waiting), later pods will find it.
    await kube.waitFor(
      () => kube.listPods({ jobName: 'preempt' }).some((p) => kube.podLog(p.metadata.name ?? '') === 'waiting\n'),
      {
        what: 'the first pod to wait',
      },
    );
    writeFileSync(marker, '');
    const victim = await kube.preemptPod('preempt');
    const job = await finished('preempt');
    ctl.abort();
    // What a watcher saw of the victim before it went: DisruptionTarget, then Failed by SIGTERM.
    const last = seen.filter((p) => p.metadata?.name === victim).at(-1);
    expect(last?.status?.phase).toBe('Failed');
    expect(last?.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }),
      ]),
    );
    expect(last?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(143);
    expect(condition(job, 'Complete')).toBeTruthy();
    expect(job.status?.failed).toBeUndefined();
    expect(job.status?.succeeded).toBe(1);
    // The preempted pod is gone (deleted), its replacement succeeded.
    const pods = kube.listPods({ jobName: 'preempt' });
    expect(pods.map((p) => p.metadata.name)).not.toContain(victim);
    expect(pods.map((p) => p.status?.phase)).toEqual(['Succeeded']);
  });

  it('kills a process that outlives activeDeadlineSeconds and fails the Job with DeadlineExceeded', async () => {
    // The pod is deleted (and gone) once the Job fails: watch for its states from the start.
    const running = kube.waitFor(() => kube.processes().find((p) => p.pod.startsWith('deadline-')), {
      what: 'the process',
    });
    const killed = kube.waitFor(
      () => kube.listPods({ jobName: 'deadline' }).find((p) => p.status?.phase === 'Failed'),
      {
        what: 'the pod to fail',
      },
    );
    await batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('deadline', 'setInterval(() => {}, 1000)', { activeDeadlineSeconds: 2 }),
    });
    const proc = await running;
    const job = await finished('deadline');
    expect(condition(job, 'Failed')).toMatchObject({
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    });
    const pod = await killed;
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 143, signal: 15 });
    await kube.waitFor(() => !alive(proc.pid), { what: 'the process to exit' });
  });

  it('kills the process when the Job is deleted with Background propagation', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: nodeJob('doomed', 'setInterval(() => {}, 1000)') });
    const proc = await kube.waitFor(() => kube.processes().find((p) => p.pod.startsWith('doomed-')), {
      what: 'the process',
    });
    expect(alive(proc.pid)).toBe(true);
    await batch.deleteNamespacedJob({ name: 'doomed', namespace: NS, propagationPolicy: 'Background' });
    expect(kube.getJob('doomed')).toBeUndefined();
    await kube.waitFor(() => !alive(proc.pid) && kube.listPods({ jobName: 'doomed' }).length === 0, {
      what: 'the process and pod to go',
    });
  });

  it('orphans the pods of a Job deleted without a propagation policy (batch/v1 default): the process runs on', async () => {
    await batch.createNamespacedJob({ namespace: NS, body: nodeJob('orphan', 'setInterval(() => {}, 1000)') });
    const proc = await kube.waitFor(() => kube.processes().find((p) => p.pod.startsWith('orphan-')), {
      what: 'the process',
    });
    await batch.deleteNamespacedJob({ name: 'orphan', namespace: NS });
    await kube.waitFor(() => kube.getJob('orphan') === undefined, { what: 'the job to go' });
    const pod = kube.getPod(proc.pod);
    expect(pod?.metadata.ownerReferences).toBeUndefined();
    expect(pod?.metadata.finalizers ?? []).toEqual([]);
    expect(alive(proc.pid)).toBe(true);
    await core.deleteNamespacedPod({ name: proc.pod, namespace: NS, gracePeriodSeconds: 0 });
    await kube.waitFor(() => !alive(proc.pid) && kube.getPod(proc.pod) === undefined, { what: 'the pod to go' });
  });

  it('resolves secretKeyRef env from a Secret created through the API, and serves the pod log', async () => {
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'trial-creds' }, stringData: { key: 'hunter2' } },
    });
    const job = nodeJob(
      'env',
      'console.log("key=" + process.env.KEY); console.log("cwd=" + process.cwd()); console.log("done")',
    );
    const container = job.spec?.template.spec?.containers[0];
    if (!container) throw new Error('unreachable');
    container.env = [
      { name: 'KEY', valueFrom: { secretKeyRef: { name: 'trial-creds', key: 'key' } } },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ];
    await batch.createNamespacedJob({ namespace: NS, body: job });
    await finished('env');
    const podName = kube.listPods({ jobName: 'env' })[0]?.metadata.name ?? '';
    const log = await core.readNamespacedPodLog({ name: podName, namespace: NS });
    expect(log).toBe(`key=hunter2\ncwd=${dir}\ndone\n`);
    expect(await core.readNamespacedPodLog({ name: podName, namespace: NS, container: 'main', tailLines: 1 })).toBe(
      'done\n',
    );
  });

  it('holds a pod in CreateContainerConfigError until its Secret exists', async () => {
    const job = nodeJob('waits', 'console.log(process.env.TOKEN)');
    const container = job.spec?.template.spec?.containers[0];
    if (!container) throw new Error('unreachable');
    container.envFrom = [{ secretRef: { name: 'late' }, prefix: 'T' }];
    container.command = ['fake', '-e', 'console.log(process.env.TOKEN)']; // `fake` maps to this node binary
    await batch.createNamespacedJob({ namespace: NS, body: job });
    const pending = await kube.waitFor(
      () =>
        kube
          .listPods({ jobName: 'waits' })
          .find((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError'),
      { what: 'CreateContainerConfigError' },
    );
    expect(pending.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe('secret "late" not found');
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'late' }, stringData: { OKEN: 'abc' } },
    });
    await finished('waits');
    expect(kube.podLog(pending.metadata.name ?? '')).toBe('abc\n');
  });

  it('starts a suspended Job once it is unsuspended with a merge patch, and deletes it after ttlSecondsAfterFinished', async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: nodeJob('later', 'process.exit(0)', { suspend: true, ttlSecondsAfterFinished: 0 }),
    });
    const suspended = await kube.waitFor(() => condition(kube.getJob('later'), 'Suspended') && kube.getJob('later'), {
      what: 'Suspended',
    });
    expect(suspended.status?.startTime).toBeUndefined();
    expect(kube.listPods({ jobName: 'later' })).toHaveLength(0);
    await batch.patchNamespacedJob(
      { name: 'later', namespace: NS, body: { spec: { suspend: false } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // TTL 0: gone (with its pods, Foreground) as soon as it finishes.
    const deleted = await kube.waitFor(
      () =>
        kube.requests().some((r) => r.verb === 'patch' && r.name === 'later') &&
        kube.getJob('later') === undefined &&
        kube.listPods({ jobName: 'later' }).length === 0,
      { what: 'the job to run and be deleted' },
    );
    expect(deleted).toBe(true);
  });

  it('leaves no process running and hit no internal error', async () => {
    await kube.waitFor(() => kube.processes().length === 0, { what: 'every process to exit' });
    expect(kube.errors()).toEqual([]);
  });
});
