/**
 * Server-side defaulting, as the API server applies it before validation (SetDefaults_Job,
 * SetDefaults_PodSpec, SetDefaults_Container, job strategy's generateSelector). Mutates in place.
 */
import type { Container, Job, Pod, PodSpec } from './types.js';
import { isObject } from './types.js';

/** Label and selector keys the job controller owns. */
export const JOB_LABELS = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyControllerUid: 'controller-uid',
  legacyJobName: 'job-name',
} as const;

/** Finalizer the job controller puts on its pods until it has counted them. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

/** Knobs of defaulting that tests may change. */
export interface DefaultingOptions {
  /** Default `terminationGracePeriodSeconds` of pod specs (Kubernetes: 30). */
  terminationGracePeriodSeconds: number;
}

function defaultContainer(c: Container): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const lastSegment = c.image.split('/').pop() ?? '';
    const tagged = lastSegment.includes(':') && !c.image.includes('@');
    c.imagePullPolicy = !tagged || c.image.endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
  c.resources ??= {};
  // A limit without a request makes the request equal to the limit.
  const { limits, requests } = c.resources;
  if (limits && Object.keys(limits).length > 0) {
    const req = { ...(requests ?? {}) };
    for (const [k, v] of Object.entries(limits)) if (!(k in req)) req[k] = v;
    c.resources.requests = req;
  }
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
}

/** Defaults a pod spec (pod or pod template). */
export function defaultPodSpec(spec: PodSpec, opts: DefaultingOptions): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= opts.terminationGracePeriodSeconds;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  if (Array.isArray(spec.containers)) for (const c of spec.containers) if (isObject(c)) defaultContainer(c);
}

/** Defaults a Pod created through the API. */
export function defaultPod(pod: Pod, opts: DefaultingOptions): void {
  if (!isObject(pod.spec)) return;
  defaultPodSpec(pod.spec, opts);
  pod.spec.serviceAccountName ??= 'default';
  pod.spec.enableServiceLinks ??= true;
  pod.spec.priority ??= 0;
  pod.spec.preemptionPolicy ??= 'PreemptLowerPriority';
  pod.status ??= { phase: 'Pending', qosClass: qosClass(pod.spec) };
}

/** The pod's QoS class (Guaranteed / Burstable / BestEffort) from its containers' resources. */
export function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Defaults a Job created through the API: completions/parallelism 1, backoffLimit 6,
 * NonIndexed, suspend false, podReplacementPolicy, the generated selector and template labels.
 * Needs metadata.uid and metadata.name to be set already.
 */
export function defaultJob(job: Job, opts: DefaultingOptions): void {
  if (!isObject(job.spec)) return;
  const spec = job.spec;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.manualSelector ??= undefined;
  if (spec.manualSelector === undefined) delete spec.manualSelector;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  for (const rule of spec.podFailurePolicy?.rules ?? [])
    for (const p of rule.onPodConditions ?? []) if (isObject(p)) p.status ??= 'True';
  if (!spec.template || typeof spec.template !== 'object') return;
  if (spec.manualSelector !== true) {
    const uid = job.metadata.uid ?? '';
    const name = job.metadata.name ?? '';
    spec.template.metadata ??= {};
    const labels = (spec.template.metadata.labels ??= {});
    labels[JOB_LABELS.legacyControllerUid] ??= uid;
    labels[JOB_LABELS.legacyJobName] ??= name;
    labels[JOB_LABELS.controllerUid] ??= uid;
    labels[JOB_LABELS.jobName] ??= name;
    spec.selector ??= {};
    spec.selector.matchLabels ??= {};
    spec.selector.matchLabels[JOB_LABELS.controllerUid] ??= uid;
  }
  if (spec.template.spec && typeof spec.template.spec === 'object') defaultPodSpec(spec.template.spec, opts);
}
