/**
 * Wire-shaped Kubernetes types (JSON as the API server sends it: times are RFC 3339 strings),
 * taken from kubernetes-models so they follow the same OpenAPI schema the server validates with.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { ISecret } from 'kubernetes-models/v1/Secret';

/** A batch/v1 Job as stored and served (metadata always present). */
export type Job = IJob & { metadata: ObjectMeta };
/** A core/v1 Pod as stored and served. */
export type Pod = IPod & { metadata: ObjectMeta };
/** A core/v1 Secret as stored and served (`data` base64; `stringData` is merged into it on write). */
export type Secret = ISecret & { metadata: ObjectMeta };
/** A core/v1 ConfigMap as stored and served. */
export type ConfigMap = IConfigMap & { metadata: ObjectMeta };

/** metav1.ObjectMeta. */
export type ObjectMeta = NonNullable<IJob['metadata']>;
/** batch/v1 JobSpec. */
export type JobSpec = NonNullable<IJob['spec']>;
/** batch/v1 JobStatus. */
export type JobStatus = NonNullable<IJob['status']>;
/** batch/v1 JobCondition. */
export type JobCondition = NonNullable<JobStatus['conditions']>[number];
/** core/v1 PodSpec. */
export type PodSpec = NonNullable<IPod['spec']>;
/** core/v1 PodStatus. */
export type PodStatus = NonNullable<IPod['status']>;
/** core/v1 PodCondition. */
export type PodCondition = NonNullable<PodStatus['conditions']>[number];
/** core/v1 Container. */
export type Container = PodSpec['containers'][number];
/** core/v1 ContainerStatus. */
export type ContainerStatus = NonNullable<PodStatus['containerStatuses']>[number];

/** Any object the fake stores: TypeMeta + ObjectMeta + the rest of its body. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** The resources this fake serves (plural names, as in URLs). */
export type ResourceName = 'jobs' | 'pods' | 'secrets' | 'configmaps';

/** Pod phases (core/v1). */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** Watch event types, as sent on the wire. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A plain JSON object (for patches and untyped bodies). */
export type JsonObject = { [key: string]: unknown };

/** True when `v` is a plain (non-array, non-null) object. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy via JSON (everything stored is JSON). */
export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Now as an RFC 3339 timestamp with second precision, as metav1.Time serializes. */
export function nowTime(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Now as RFC 3339 with nanoseconds, as the kubelet prefixes log lines with `timestamps=true`. */
export function nowTimeNano(now: Date = new Date()): string {
  return now.toISOString().replace(/Z$/, '000000Z');
}
