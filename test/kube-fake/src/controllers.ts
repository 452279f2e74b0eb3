/**
 * The controllers of kube-controller-manager that Jobs need: the job controller (pods from the
 * template, backoffLimit, podFailurePolicy, activeDeadlineSeconds, suspend, status and the
 * Complete/Failed conditions), the TTL-after-finished controller and the garbage collector
 * (ownerReferences with Orphan / Background / Foreground propagation). Level-triggered: each
 * sync looks at the whole state of one Job, like the real controllers.
 */
import type { ApiServer } from './api.js';
import { GC_FINALIZERS } from './api.js';
import { JOB_TRACKING_FINALIZER } from './defaults.js';
import type { ObjectStore, StoreEvent } from './store.js';
import type { Job, JobCondition, JobStatus, Pod } from './types.js';
import { clone, nowTime } from './types.js';

/** Options of the job controller. */
export interface JobControllerOptions {
  /**
   * Delay before replacing a failed pod. The real controller backs off exponentially from 10 s
   * (capped at 6 min); tests want 0.
   */
  podRecreateDelayMs: number;
  debug?: (message: string) => void;
}

const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const controllerRef = (pod: Pod) => (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
const conditionTrue = (status: JobStatus | undefined, type: string) =>
  (status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** The podFailurePolicy rule a failed pod matches, if any. */
export interface PolicyMatch {
  action: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
  index: number;
  message: string;
}

/** Evaluates a Job's podFailurePolicy against a failed pod, as the job controller does. */
export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  const ns = pod.metadata.namespace ?? '';
  const podName = pod.metadata.name ?? '';
  for (const [index, rule] of rules.entries()) {
    const action = rule.action as PolicyMatch['action'];
    const oec = rule.onExitCodes;
    if (oec) {
      for (const cs of pod.status?.containerStatuses ?? []) {
        if (oec.containerName && oec.containerName !== cs.name) continue;
        const code = cs.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const inValues = oec.values.includes(code);
        if (oec.operator === 'In' ? inValues : !inValues)
          return {
            action,
            index,
            message: `Container ${cs.name} for pod ${ns}/${podName} failed with exit code ${code} matching ${action} rule at index ${index}`,
          };
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const want = pattern.status ?? 'True';
      if ((pod.status?.conditions ?? []).some((c) => c.type === pattern.type && c.status === want))
        return {
          action,
          index,
          message: `Pod ${ns}/${podName} has condition ${pattern.type} matching ${action} rule at index ${index}`,
        };
    }
  }
  return undefined;
}

/**
 * With restartPolicy OnFailure the kubelet restarts containers in place: their restarts count
 * against backoffLimit (the job controller's pastBackoffLimitOnFailure).
 */
function pastBackoffLimitOnFailure(job: Job, active: Pod[]): boolean {
  if (job.spec?.template.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of active) for (const c of p.status?.containerStatuses ?? []) restarts += c.restartCount;
  const limit = job.spec.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string): JobCondition {
  const now = nowTime();
  return { type, status, reason, message, lastProbeTime: now, lastTransitionTime: now };
}

function setCondition(conditions: JobCondition[], c: JobCondition): JobCondition[] {
  const i = conditions.findIndex((x) => x.type === c.type);
  if (i < 0) return [...conditions, c];
  const prev = conditions[i];
  if (prev && prev.status === c.status && prev.reason === c.reason) return conditions;
  const out = [...conditions];
  out[i] = c;
  return out;
}

/** Job controller + TTL-after-finished + garbage collector. */
export class JobController {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Pods this controller deleted because their Job was suspended (not failures). */
  private readonly suspendedDeletes = new Set<string>();
  /** When each Job last saw a failed pod (for the replacement delay). */
  private readonly lastFailure = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly api: ApiServer,
    private readonly options: JobControllerOptions,
    private readonly enqueue: (key: string) => void,
  ) {}

  /** Store listener: which Jobs to sync. */
  onEvent(e: StoreEvent): void {
    if (e.resource === 'jobs') {
      this.enqueue(`job:${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}`);
      this.enqueue('gc');
    } else if (e.resource === 'pods') {
      const pod = e.object as Pod;
      const ref = controllerRef(pod) ?? (e.previous ? controllerRef(e.previous as Pod) : undefined);
      if (ref?.kind === 'Job') this.enqueue(`job:${pod.metadata.namespace ?? ''}/${ref.name}`);
      this.enqueue('gc');
    }
  }

  private timer(key: string, delayMs: number, fn: () => void): void {
    const prev = this.timers.get(key);
    if (prev) clearTimeout(prev);
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        if (!this.stopped) fn();
      },
      Math.max(0, delayMs),
    );
    t.unref();
    this.timers.set(key, t);
  }

  /** Stops all timers. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private deletePod(pod: Pod): void {
    try {
      this.api.delete('pods', pod.metadata.namespace ?? '', pod.metadata.name ?? '', {});
    } catch {
      // already gone
    }
  }

  private removeTrackingFinalizer(pod: Pod): void {
    const fresh = this.store.get<Pod>('pods', pod.metadata.namespace ?? '', pod.metadata.name ?? '');
    if (!fresh || !(fresh.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)) return;
    fresh.metadata.finalizers = (fresh.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
    this.store.update('pods', fresh);
  }

  /** Reconciles one Job. */
  syncJob(namespace: string, name: string): void {
    if (this.stopped) return;
    const job = this.store.get<Job>('jobs', namespace, name);
    if (!job || !job.spec) return;
    if (job.spec.managedBy && job.spec.managedBy !== 'kubernetes.io/job-controller') return;
    if (job.metadata.deletionTimestamp) return; // the garbage collector's turn
    const uid = job.metadata.uid ?? '';
    const spec = job.spec;
    const pods = this.store.list<Pod>('pods', namespace).filter((p) => controllerRef(p)?.uid === uid);
    const status: JobStatus = clone(job.status ?? {});
    let conditions = status.conditions ?? [];
    let succeeded = status.succeeded ?? 0;
    let failed = status.failed ?? 0;
    let failure: { reason: string; message: string } | undefined;
    const counted: Pod[] = [];

    // Count pods that finished since the last sync (they still carry the tracking finalizer).
    for (const pod of pods) {
      if (!isTerminal(pod) || !(pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER)) continue;
      counted.push(pod);
      if (pod.status?.phase === 'Succeeded') {
        succeeded++;
        continue;
      }
      if (this.suspendedDeletes.delete(pod.metadata.uid ?? '')) continue;
      this.lastFailure.set(uid, Date.now());
      const match = matchPodFailurePolicy(job, pod);
      if (match?.action === 'Ignore') continue;
      failed++;
      if (match?.action === 'FailJob') failure ??= { reason: 'PodFailurePolicy', message: match.message };
    }

    const active = pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
    const terminating = pods.filter((p) => !isTerminal(p) && p.metadata.deletionTimestamp);
    const completions = spec.completions ?? 1;
    const backoffLimit = spec.backoffLimit ?? 6;
    const alreadyFinished = conditionTrue(status, 'Complete') || conditionTrue(status, 'Failed');
    let finished = alreadyFinished;
    const now = Date.now();

    if (!finished) {
      const start = status.startTime ? Date.parse(status.startTime) : undefined;
      const ads = spec.activeDeadlineSeconds;
      if (failure) {
        conditions = setCondition(conditions, condition('Failed', 'True', failure.reason, failure.message));
      } else if (succeeded >= completions) {
        conditions = setCondition(
          conditions,
          condition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        );
        status.completionTime = nowTime();
      } else if (failed > backoffLimit || pastBackoffLimitOnFailure(job, active)) {
        conditions = setCondition(
          conditions,
          condition('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        );
      } else if (ads !== undefined && start !== undefined && !spec.suspend && now >= start + ads * 1000) {
        conditions = setCondition(
          conditions,
          condition('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline'),
        );
      }
      finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (finished)
        this.options.debug?.(`job-controller: ${namespace}/${name} finished: ${JSON.stringify(conditions.at(-1))}`);
    }

    let activeCount = active.length;
    if (finished) {
      for (const p of active) this.deletePod(p);
      activeCount = 0;
    } else if (spec.suspend) {
      for (const p of active) {
        this.suspendedDeletes.add(p.metadata.uid ?? '');
        this.deletePod(p);
      }
      activeCount = 0;
      delete status.startTime;
      conditions = setCondition(conditions, condition('Suspended', 'True', 'JobSuspended', 'Job suspended'));
    } else {
      if (!status.startTime) {
        status.startTime = nowTime();
        if (conditionTrue(status, 'Suspended'))
          conditions = setCondition(conditions, condition('Suspended', 'False', 'JobResumed', 'Job resumed'));
      }
      const blocked = spec.podReplacementPolicy === 'Failed' && terminating.length > 0;
      const parallelism = spec.parallelism ?? 1;
      if (activeCount === 0 && !blocked && parallelism > 0 && succeeded < completions) {
        const since = now - (this.lastFailure.get(uid) ?? 0);
        if (since >= this.options.podRecreateDelayMs) {
          if (this.createPod(job)) activeCount++;
        } else
          this.timer(`backoff:${uid}`, this.options.podRecreateDelayMs - since, () =>
            this.enqueue(`job:${namespace}/${name}`),
          );
      }
      const ads = spec.activeDeadlineSeconds;
      if (ads !== undefined)
        this.timer(`deadline:${uid}`, Date.parse(status.startTime) + ads * 1000 - now + 5, () =>
          this.enqueue(`job:${namespace}/${name}`),
        );
    }

    status.conditions = conditions;
    if (conditions.length === 0) delete status.conditions;
    if (activeCount > 0) status.active = activeCount;
    else delete status.active;
    if (succeeded > 0) status.succeeded = succeeded;
    if (failed > 0) status.failed = failed;
    status.ready = finished
      ? 0
      : active.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
          .length;
    status.terminating = terminating.length + (finished || spec.suspend ? active.length : 0);
    status.uncountedTerminatedPods = {};
    const fresh = this.store.get<Job>('jobs', namespace, name);
    if (fresh && fresh.metadata.uid === uid && JSON.stringify(fresh.status ?? {}) !== JSON.stringify(status)) {
      fresh.status = status;
      this.store.update('jobs', fresh);
    }
    // Counted pods are now in the status: release them.
    for (const p of counted) this.removeTrackingFinalizer(p);

    const ttl = spec.ttlSecondsAfterFinished;
    if (finished && ttl !== undefined) {
      const done = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      const at = Date.parse(done?.lastTransitionTime ?? nowTime()) + ttl * 1000;
      this.timer(`ttl:${uid}`, at - Date.now(), () => {
        const j = this.store.get<Job>('jobs', namespace, name);
        if (!j || j.metadata.uid !== uid || j.metadata.deletionTimestamp) return;
        this.options.debug?.(`ttl-after-finished: deleting ${namespace}/${name}`);
        this.api.delete('jobs', namespace, name, { propagationPolicy: 'Foreground' });
      });
    }
  }

  /** Creates the Job's next pod from its template. */
  private createPod(job: Job): boolean {
    const template = job.spec?.template;
    if (!template?.spec) return false;
    const jobName = job.metadata.name ?? '';
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${jobName}-`,
        namespace: job.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        annotations: { ...(template.metadata?.annotations ?? {}), [JOB_TRACKING_FINALIZER]: '' },
        finalizers: [JOB_TRACKING_FINALIZER],
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: jobName,
            uid: job.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: clone(template.spec),
    };
    try {
      const created = this.api.create<Pod>('pods', job.metadata.namespace ?? '', pod);
      this.options.debug?.(
        `job-controller: created pod ${created.metadata.namespace ?? ''}/${created.metadata.name ?? ''}`,
      );
      return true;
    } catch (err) {
      this.options.debug?.(`job-controller: cannot create a pod for ${jobName}: ${(err as Error).message}`);
      return false;
    }
  }

  /** The garbage collector: dependents of deleted or deleting Jobs. */
  gc(): void {
    if (this.stopped) return;
    const jobs = new Map(this.store.list<Job>('jobs').map((j) => [j.metadata.uid ?? '', j]));
    for (const pod of this.store.list<Pod>('pods')) {
      const ref = controllerRef(pod);
      if (!ref || ref.kind !== 'Job') continue;
      const job = jobs.get(ref.uid);
      if (!job) {
        // Owner gone (Background propagation): release and delete the dependent.
        this.removeTrackingFinalizer(pod);
        if (!pod.metadata.deletionTimestamp) this.deletePod(pod);
        continue;
      }
      const finalizers = job.metadata.finalizers ?? [];
      if (!job.metadata.deletionTimestamp) continue;
      if (finalizers.includes(GC_FINALIZERS.orphan)) {
        const fresh = this.store.get<Pod>('pods', pod.metadata.namespace ?? '', pod.metadata.name ?? '');
        if (!fresh) continue;
        fresh.metadata.ownerReferences = (fresh.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
        if (fresh.metadata.ownerReferences.length === 0) delete fresh.metadata.ownerReferences;
        fresh.metadata.finalizers = (fresh.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
        this.store.update('pods', fresh);
      } else if (finalizers.includes(GC_FINALIZERS.foreground)) {
        if (!pod.metadata.deletionTimestamp) this.deletePod(pod);
        const fresh = this.store.get<Pod>('pods', pod.metadata.namespace ?? '', pod.metadata.name ?? '');
        if (fresh && isTerminal(fresh)) this.removeTrackingFinalizer(fresh);
      }
    }
    for (const job of jobs.values()) {
      if (!job.metadata.deletionTimestamp) continue;
      const uid = job.metadata.uid ?? '';
      const dependents = this.store
        .list<Pod>('pods', job.metadata.namespace)
        .filter((p) => controllerRef(p)?.uid === uid);
      const finalizers = job.metadata.finalizers ?? [];
      let next = finalizers;
      if (finalizers.includes(GC_FINALIZERS.orphan) && dependents.length === 0)
        next = next.filter((f) => f !== GC_FINALIZERS.orphan);
      if (finalizers.includes(GC_FINALIZERS.foreground) && dependents.length === 0)
        next = next.filter((f) => f !== GC_FINALIZERS.foreground);
      if (next.length !== finalizers.length) {
        const fresh = clone(job);
        fresh.metadata.finalizers = next;
        if (next.length === 0) delete fresh.metadata.finalizers;
        this.store.update('jobs', fresh);
      }
    }
  }
}
