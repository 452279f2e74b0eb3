/**
 * The REST semantics of the API server over the store, without HTTP: create / update / patch /
 * delete with defaulting, validation, optimistic concurrency, dry-run, graceful deletion,
 * finalizers and propagation policies. The HTTP layer (http.ts) and the controllers both use it.
 */
import { randomUUID } from 'node:crypto';
import { defaultJob, defaultPod, type DefaultingOptions } from './defaults.js';
import { generateName } from './names.js';
import { PATCH_TYPES, PatchTestFailed, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { RESOURCES } from './resources.js';
import {
  KubeApiError,
  alreadyExists,
  badRequest,
  conflict,
  fieldError,
  invalid,
  notFound,
  type FieldError,
  type KubeStatus,
} from './status.js';
import type { ObjectStore } from './store.js';
import type { ConfigMap, Job, JsonObject, KubeObject, Pod, ResourceName, Secret } from './types.js';
import { clone, isObject, nowTime } from './types.js';
import { validateConfigMap, validateJob, validatePod, validateSchema, validateSecret } from './validation.js';

/** metav1.DeletionPropagation. */
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

/** Options of a delete (query parameters and/or a DeleteOptions body). */
export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** What a delete answered: the object (still terminating, or as removed) or a Success Status. */
export interface DeleteResult {
  body: KubeObject | KubeStatus;
  /** HTTP code: 200, or 202 when dependents are being deleted first (orphanDependents=false). */
  code: number;
  /** Warning headers (e.g. the Job orphaning warning). */
  warnings: string[];
}

/** Finalizers of the garbage collector's Orphan and Foreground propagation. */
export const GC_FINALIZERS = { orphan: 'orphan', foreground: 'foregroundDeletion' } as const;

/** The warning the API server returns for a Job deleted without a propagation policy. */
export const JOB_ORPHAN_WARNING =
  'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning';

const gr = (resource: ResourceName) => ({ group: RESOURCES[resource].group, resource });
const kindOf = (resource: ResourceName) => ({ group: RESOURCES[resource].group, kind: RESOURCES[resource].kind });
const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** REST semantics over the store. */
export class ApiServer {
  constructor(
    readonly store: ObjectStore,
    private readonly defaulting: DefaultingOptions,
  ) {}

  /** GET one object or 404. */
  get<T extends KubeObject = KubeObject>(resource: ResourceName, namespace: string, name: string): T {
    const o = this.store.get<T>(resource, namespace, name);
    if (!o) throw notFound(gr(resource), name);
    return o;
  }

  private checkTypeMeta(resource: ResourceName, body: JsonObject): void {
    const info = RESOURCES[resource];
    if (body.apiVersion !== undefined && body.apiVersion !== info.apiVersion)
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${info.apiVersion})`,
      );
    if (body.kind !== undefined && body.kind !== info.kind)
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${info.kind})`);
  }

  private fail(resource: ResourceName, name: string, errors: FieldError[]): void {
    if (errors.length > 0) throw invalid(kindOf(resource), name, errors);
  }

  /** Semantic validation by kind. */
  private validate(resource: ResourceName, obj: KubeObject, old?: KubeObject): FieldError[] {
    switch (resource) {
      case 'jobs':
        return validateJob(obj as Job, old as Job | undefined);
      case 'pods':
        return validatePod(obj as Pod);
      case 'secrets':
        return validateSecret(obj as Secret, old as Secret | undefined);
      case 'configmaps':
        return validateConfigMap(obj as ConfigMap, old as ConfigMap | undefined);
    }
  }

  /** POST: create an object in `namespace`. */
  create<T extends KubeObject = KubeObject>(
    resource: ResourceName,
    namespace: string,
    input: unknown,
    options: { dryRun?: boolean } = {},
  ): T {
    if (!isObject(input)) throw badRequest('the body of the request must be a JSON object');
    this.checkTypeMeta(resource, input);
    const info = RESOURCES[resource];
    const body = clone(input);
    const meta: JsonObject = isObject(body.metadata) ? body.metadata : {};
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.namespace = namespace;
    if (!meta.name && typeof meta.generateName === 'string' && meta.generateName)
      meta.name = generateName(meta.generateName);
    for (const k of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ])
      delete meta[k];
    const obj = { ...body, apiVersion: info.apiVersion, kind: info.kind, metadata: meta } as unknown as KubeObject;
    const name = obj.metadata.name ?? '';
    if (resource === 'jobs' || resource === 'pods') delete (obj as { status?: unknown }).status;
    if (resource === 'secrets') mergeStringData(obj as Secret);
    this.fail(resource, name, validateSchema(resource, obj));
    obj.metadata.uid = randomUUID();
    if (resource === 'jobs') defaultJob(obj as Job, this.defaulting);
    if (resource === 'pods') defaultPod(obj as Pod, this.defaulting);
    if (resource === 'secrets') (obj as Secret).type ??= 'Opaque';
    this.fail(resource, name, this.validate(resource, obj));
    if (this.store.has(resource, namespace, name)) throw alreadyExists(gr(resource), name);
    if (options.dryRun) {
      obj.metadata.creationTimestamp = nowTime();
      return obj as T;
    }
    return this.store.create(resource, obj) as T;
  }

  /**
   * PUT: replace an object (`subresource` 'status' replaces only its status). A resourceVersion
   * in the body must match the stored one (409 Conflict otherwise).
   */
  update<T extends KubeObject = KubeObject>(
    resource: ResourceName,
    namespace: string,
    name: string,
    input: unknown,
    options: { subresource?: 'status'; dryRun?: boolean } = {},
  ): T {
    if (!isObject(input)) throw badRequest('the body of the request must be a JSON object');
    this.checkTypeMeta(resource, input);
    const current = this.get(resource, namespace, name);
    const body = clone(input);
    const meta: JsonObject = isObject(body.metadata) ? body.metadata : {};
    if (meta.name !== undefined && meta.name !== name)
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (
      typeof meta.resourceVersion === 'string' &&
      meta.resourceVersion !== '' &&
      meta.resourceVersion !== current.metadata.resourceVersion
    )
      throw conflict(
        gr(resource),
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    return this.replace(resource, current, body, options) as T;
  }

  /** The shared tail of PUT and PATCH: merge system fields, default, validate, store. */
  private replace(
    resource: ResourceName,
    current: KubeObject,
    body: JsonObject,
    options: { subresource?: 'status'; dryRun?: boolean },
  ): KubeObject {
    const info = RESOURCES[resource];
    const name = current.metadata.name ?? '';
    let next: KubeObject;
    if (options.subresource === 'status') {
      // Only the status (and nothing of the spec) comes from the body.
      next = clone(current);
      const n = next as unknown as JsonObject;
      if (body.status === undefined) delete n.status;
      else n.status = body.status;
    } else {
      const meta: JsonObject = isObject(body.metadata) ? { ...body.metadata } : {};
      const cur = current.metadata;
      const nextMeta = {
        ...meta,
        name: cur.name,
        namespace: cur.namespace,
        uid: cur.uid,
        creationTimestamp: cur.creationTimestamp,
        resourceVersion: cur.resourceVersion,
      } as KubeObject['metadata'];
      if (cur.generation !== undefined) nextMeta.generation = cur.generation;
      if (cur.deletionTimestamp) {
        nextMeta.deletionTimestamp = cur.deletionTimestamp;
        if (cur.deletionGracePeriodSeconds !== undefined)
          nextMeta.deletionGracePeriodSeconds = cur.deletionGracePeriodSeconds;
        const added = (nextMeta.finalizers ?? []).filter((f) => !(cur.finalizers ?? []).includes(f));
        if (added.length > 0)
          this.fail(resource, name, [
            fieldError.forbidden(
              'metadata.finalizers',
              `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            ),
          ]);
      } else {
        delete nextMeta.deletionTimestamp;
        delete nextMeta.deletionGracePeriodSeconds;
      }
      next = { ...body, apiVersion: info.apiVersion, kind: info.kind, metadata: nextMeta } as unknown as KubeObject;
      // The main resource never writes status (that is the status subresource's job).
      const n = next as unknown as JsonObject;
      const c = current as unknown as JsonObject;
      if (resource === 'jobs' || resource === 'pods') {
        if (c.status === undefined) delete n.status;
        else n.status = c.status;
      }
      if (resource === 'secrets') mergeStringData(next as Secret);
    }
    this.fail(resource, name, validateSchema(resource, next));
    if (options.subresource !== 'status') {
      if (resource === 'jobs') defaultJob(next as Job, this.defaulting);
      if (resource === 'pods') {
        defaultPod(next as Pod, this.defaulting);
        const errs = podUpdateErrors(current as Pod, next as Pod);
        this.fail(resource, name, errs);
      }
      this.fail(resource, name, this.validate(resource, next, current));
    }
    const specChanged =
      JSON.stringify((next as unknown as JsonObject).spec) !== JSON.stringify((current as unknown as JsonObject).spec);
    if (options.dryRun) return next;
    return this.store.update(resource, next, { specChanged }).object;
  }

  /** PATCH with one of the supported patch media types. */
  patch<T extends KubeObject = KubeObject>(
    resource: ResourceName,
    namespace: string,
    name: string,
    contentType: string,
    patch: unknown,
    options: { subresource?: 'status'; dryRun?: boolean } = {},
  ): T {
    const current = this.get(resource, namespace, name);
    const base = current as unknown as JsonObject;
    let patched: unknown;
    try {
      if (contentType === PATCH_TYPES.json) patched = applyJsonPatch(base, patch);
      else if (contentType === PATCH_TYPES.merge) patched = applyMergePatch(base, patch);
      else if (contentType === PATCH_TYPES.strategic) patched = applyStrategicMergePatch(base, patch);
      else
        throw new KubeApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.json}, ${PATCH_TYPES.merge}, ${PATCH_TYPES.strategic} (kube-fake does not implement server-side apply)`,
        );
    } catch (err) {
      if (err instanceof PatchTestFailed) throw new KubeApiError(422, 'Invalid', err.message);
      throw err;
    }
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    const pmeta = isObject(patched.metadata) ? patched.metadata : {};
    if (typeof pmeta.resourceVersion === 'string' && pmeta.resourceVersion !== current.metadata.resourceVersion)
      throw conflict(
        gr(resource),
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    return this.replace(resource, current, patched, options) as T;
  }

  /** DELETE one object, with graceful deletion (pods) and propagation (jobs). */
  delete(resource: ResourceName, namespace: string, name: string, options: DeleteOptions = {}): DeleteResult {
    const current = this.get(resource, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid)
      throw conflict(
        gr(resource),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
      );
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
      throw conflict(
        gr(resource),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
      );
    const warnings: string[] = [];
    let policy = options.propagationPolicy;
    if (policy === undefined && options.orphanDependents !== undefined)
      policy = options.orphanDependents ? 'Orphan' : 'Background';
    if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy))
      throw badRequest(
        `propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`,
      );
    if (resource === 'jobs' && policy === undefined) {
      // batch/v1 Jobs still orphan their pods by default (and the server says so).
      policy = 'Orphan';
      warnings.push(JOB_ORPHAN_WARNING);
    }
    const code = options.orphanDependents === false ? 202 : 200;
    const success = (obj: KubeObject): KubeStatus => ({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name,
        ...(RESOURCES[resource].group ? { group: RESOURCES[resource].group } : {}),
        kind: resource,
        uid: obj.metadata.uid ?? '',
      },
      code: 200,
    });

    if (current.metadata.deletionTimestamp) {
      // Already terminating: a shorter grace period (e.g. 0 = force) may still shorten it.
      if (resource === 'pods' && options.gracePeriodSeconds !== undefined && !options.dryRun) {
        const cur = current.metadata.deletionGracePeriodSeconds ?? 0;
        if (options.gracePeriodSeconds < cur) {
          const next = clone(current);
          next.metadata.deletionGracePeriodSeconds = options.gracePeriodSeconds;
          next.metadata.deletionTimestamp = nowTime(new Date(Date.now() + options.gracePeriodSeconds * 1000));
          const r = this.store.update(resource, next);
          return { body: r.object, code, warnings };
        }
      }
      return { body: current, code, warnings };
    }

    const next = clone(current);
    const finalizers = [...(next.metadata.finalizers ?? [])];
    if (resource === 'jobs') {
      if (policy === 'Orphan' && !finalizers.includes(GC_FINALIZERS.orphan)) finalizers.push(GC_FINALIZERS.orphan);
      if (policy === 'Foreground' && !finalizers.includes(GC_FINALIZERS.foreground))
        finalizers.push(GC_FINALIZERS.foreground);
    }
    let grace = 0;
    if (resource === 'pods') {
      const pod = current as Pod;
      grace =
        options.gracePeriodSeconds ??
        pod.spec?.terminationGracePeriodSeconds ??
        this.defaulting.terminationGracePeriodSeconds;
      // An unscheduled or finished pod has nothing to stop.
      if (!pod.spec?.nodeName || isTerminal(pod)) grace = 0;
    }
    if (finalizers.length === 0 && grace === 0) {
      if (options.dryRun) return { body: resource === 'pods' ? current : success(current), code, warnings };
      const removed = this.store.remove(resource, namespace, name) ?? current;
      return { body: resource === 'pods' ? removed : success(removed), code, warnings };
    }
    next.metadata.finalizers = finalizers;
    next.metadata.deletionTimestamp = nowTime(new Date(Date.now() + grace * 1000));
    next.metadata.deletionGracePeriodSeconds = grace;
    if (options.dryRun) return { body: next, code, warnings };
    const r = this.store.update(resource, next);
    return { body: r.removed && resource !== 'pods' ? success(r.object) : r.object, code, warnings };
  }
}

/** Pod updates may change little besides metadata (the real list is longer; the spec is the point). */
function podUpdateErrors(current: Pod, next: Pod): FieldError[] {
  const strip = (p: Pod) => {
    const s = clone(p.spec ?? {}) as JsonObject;
    delete s.activeDeadlineSeconds;
    delete s.terminationGracePeriodSeconds;
    if (Array.isArray(s.containers)) for (const c of s.containers) if (isObject(c)) delete c.image;
    return JSON.stringify(s);
  };
  if (strip(current) !== strip(next))
    return [
      fieldError.forbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    ];
  return [];
}

/** Secrets: `stringData` is write-only and merged into base64 `data`. */
function mergeStringData(secret: Secret): void {
  if (!isObject(secret.stringData)) return;
  secret.data ??= {};
  for (const [k, v] of Object.entries(secret.stringData))
    secret.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  delete secret.stringData;
}
