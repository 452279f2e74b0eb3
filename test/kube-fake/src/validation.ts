/**
 * Validation of every written object: the Kubernetes OpenAPI schema (kubernetes-models
 * `.validate()`), then the checks the schema cannot express but the API server makes
 * (pkg/apis/core/validation, pkg/apis/batch/validation), with the server's field paths and
 * messages. Plus what this fake does not simulate, rejected up front with a "kube-fake:" message.
 */
import { Job as JobModel } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap as ConfigMapModel } from 'kubernetes-models/v1/ConfigMap';
import { Pod as PodModel } from 'kubernetes-models/v1/Pod';
import { Secret as SecretModel } from 'kubernetes-models/v1/Secret';
import { JOB_LABELS } from './defaults.js';
import {
  isConfigMapKey,
  isDns1123Label,
  isDns1123Subdomain,
  isEnvVarName,
  isLabelValue,
  isQualifiedName,
} from './names.js';
import { isWholeQuantity, parseQuantity } from './quantity.js';
import { matchesLabels, requirementsFromLabelSelector } from './selectors.js';
import { FieldError, fieldError } from './status.js';
import type { ConfigMap, Container, Job, ObjectMeta, Pod, PodSpec, ResourceName, Secret } from './types.js';
import { isObject } from './types.js';

// ---------------------------------------------------------------------------------------------
// OpenAPI schema (kubernetes-models)

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const isAjvError = (e: unknown): e is AjvError =>
  isObject(e) && typeof e.instancePath === 'string' && typeof e.keyword === 'string' && isObject(e.params);

/** Fields whose value is a map: the next path segment is a key, written `[key]`. */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'nodeSelector',
  'limits',
  'requests',
  'data',
  'binaryData',
  'stringData',
]);

/** `/spec/template/spec/containers/0/resources/limits/cpu` → `spec.template.spec.containers[0].resources.limits[cpu]`. */
export function fieldPathFromPointer(pointer: string): string {
  let out = '';
  let prev = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg) || MAP_FIELDS.has(prev)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
    prev = seg;
  }
  return out;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let cur = obj;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObject(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

const QUANTITY_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const KEYWORD_RANK: Record<string, number> = { required: 0, enum: 1, format: 2, type: 3 };

/** Converts kubernetes-models (ajv) errors to field errors, one per field, the most telling kept. */
function schemaFieldErrors(obj: unknown, errors: readonly AjvError[]): FieldError[] {
  const byPath = new Map<string, AjvError>();
  for (const e of errors) {
    const p = e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.instancePath;
    const prev = byPath.get(p);
    if (!prev || (KEYWORD_RANK[e.keyword] ?? 9) < (KEYWORD_RANK[prev.keyword] ?? 9)) byPath.set(p, e);
  }
  const out: FieldError[] = [];
  for (const [pointer, e] of byPath) {
    const path = fieldPathFromPointer(pointer);
    const value = valueAt(obj, pointer);
    if (e.keyword === 'required') out.push(fieldError.required(path));
    else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues))
      out.push(fieldError.notSupported(path, value, e.params.allowedValues.map(String)));
    else if (e.keyword === 'format' && e.params.format === 'quantity')
      out.push(fieldError.invalid(path, value, QUANTITY_MESSAGE));
    else out.push(fieldError.invalid(path, value, e.message ?? `failed ${e.keyword} validation`));
  }
  return out;
}

type ModelCtor = new (data: never) => { validate(): void };
const MODELS: Record<ResourceName, ModelCtor> = {
  jobs: JobModel as unknown as ModelCtor,
  pods: PodModel as unknown as ModelCtor,
  secrets: SecretModel as unknown as ModelCtor,
  configmaps: ConfigMapModel as unknown as ModelCtor,
};

/** Checks an object against the Kubernetes OpenAPI schema of its kind. */
export function validateSchema(resource: ResourceName, obj: unknown): FieldError[] {
  const Model = MODELS[resource];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (err) {
    const errors = isObject(err) && Array.isArray(err.errors) ? err.errors.filter(isAjvError) : [];
    if (errors.length === 0) return [fieldError.invalidOmitValue('', String(err))];
    return schemaFieldErrors(obj, errors);
  }
}

// ---------------------------------------------------------------------------------------------
// ObjectMeta

const nonNegative = (path: string, v: number | undefined, errs: FieldError[]) => {
  if (v !== undefined && v < 0) errs.push(fieldError.invalid(path, v, 'must be greater than or equal to 0'));
};

/** Validates label keys and values at `path` (e.g. `metadata.labels`). */
export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) errs.push(fieldError.invalid(path, k, m));
    for (const m of isLabelValue(String(v))) errs.push(fieldError.invalid(path, v, m));
  }
  return errs;
}

function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(fieldError.invalid(path, k, m));
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024) errs.push(fieldError.tooLong(path, 256 * 1024));
  return errs;
}

/** Validates metadata: name (with `nameFn`), namespace, labels, annotations, finalizers. */
export function validateObjectMeta(meta: ObjectMeta, nameFn: (name: string) => string[]): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta.name) errs.push(fieldError.required('metadata.name', 'name or generateName is required'));
  else for (const m of nameFn(meta.name)) errs.push(fieldError.invalid('metadata.name', meta.name, m));
  if (meta.namespace)
    for (const m of isDns1123Label(meta.namespace))
      errs.push(fieldError.invalid('metadata.namespace', meta.namespace, m));
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  (meta.finalizers ?? []).forEach((f, i) => {
    for (const m of isQualifiedName(f)) errs.push(fieldError.invalid(`metadata.finalizers[${i}]`, f, m));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Pod spec

const STANDARD_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage']);
const isExtendedResource = (name: string) =>
  !STANDARD_RESOURCES.has(name) &&
  !name.startsWith('hugepages-') &&
  name.includes('/') &&
  !name.startsWith('kubernetes.io/');

function validateResources(c: Container, path: string, errs: FieldError[]): void {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  for (const [kind, list] of [
    ['limits', limits],
    ['requests', requests],
  ] as const) {
    for (const [name, q] of Object.entries(list)) {
      const p = `${path}.resources.${kind}[${name}]`;
      if (!STANDARD_RESOURCES.has(name) && !name.startsWith('hugepages-'))
        for (const m of isQualifiedName(name)) errs.push(fieldError.invalid(p, name, m));
      const v = parseQuantity(q);
      if (v === undefined) continue; // the schema already reported it
      if (v < 0) errs.push(fieldError.invalid(p, String(q), 'must be greater than or equal to 0'));
      if (isExtendedResource(name) && !isWholeQuantity(q))
        errs.push(fieldError.invalid(p, String(q), 'must be an integer'));
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    const p = `${path}.resources.requests[${name}]`;
    const lim = limits[name];
    const rv = parseQuantity(q);
    if (isExtendedResource(name)) {
      if (lim === undefined) errs.push(fieldError.forbidden(p, 'Limit must be set for non overcommitable resources'));
      else if (parseQuantity(lim) !== rv)
        errs.push(fieldError.invalid(p, String(q), `must be equal to ${name} limit of ${String(lim)}`));
      continue;
    }
    if (lim === undefined || rv === undefined) continue;
    const lv = parseQuantity(lim);
    if (lv !== undefined && rv > lv)
      errs.push(fieldError.invalid(p, String(q), `must be less than or equal to ${name} limit of ${String(lim)}`));
  }
}

function validateEnv(c: Container, path: string, errs: FieldError[]): void {
  (c.env ?? []).forEach((e, i) => {
    const p = `${path}.env[${i}]`;
    if (!e.name) errs.push(fieldError.required(`${p}.name`));
    else for (const m of isEnvVarName(e.name)) errs.push(fieldError.invalid(`${p}.name`, e.name, m));
    const vf = e.valueFrom;
    if (!vf) return;
    const sources = (['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const).filter(
      (k) => vf[k] !== undefined,
    );
    if (sources.length === 0)
      errs.push(
        fieldError.invalidOmitValue(
          `${p}.valueFrom`,
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    if (sources.length > 1)
      errs.push(fieldError.invalidOmitValue(`${p}.valueFrom`, 'may not have more than one field specified at a time'));
    if (e.value)
      errs.push(fieldError.invalidOmitValue(`${p}.valueFrom`, 'may not be specified when `value` is not empty'));
    for (const ref of [vf.secretKeyRef, vf.configMapKeyRef]) {
      if (!ref) continue;
      const refPath = `${p}.valueFrom.${ref === vf.secretKeyRef ? 'secretKeyRef' : 'configMapKeyRef'}`;
      if (!ref.name) errs.push(fieldError.required(`${refPath}.name`));
      if (!ref.key) errs.push(fieldError.required(`${refPath}.key`));
      else for (const m of isConfigMapKey(ref.key)) errs.push(fieldError.invalid(`${refPath}.key`, ref.key, m));
    }
    if (vf.fieldRef) {
      const fp = vf.fieldRef.fieldPath;
      const ok =
        /^metadata\.(name|namespace|uid)$/.test(fp) ||
        /^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp) ||
        /^spec\.(nodeName|serviceAccountName)$/.test(fp) ||
        /^status\.(hostIP|hostIPs|podIP|podIPs)$/.test(fp);
      if (!ok)
        errs.push(
          fieldError.notSupported(`${p}.valueFrom.fieldRef.fieldPath`, fp, [
            'metadata.name',
            'metadata.namespace',
            'metadata.uid',
            'spec.nodeName',
            'spec.serviceAccountName',
            'status.hostIP',
            'status.hostIPs',
            'status.podIP',
            'status.podIPs',
          ]),
        );
    }
  });
  (c.envFrom ?? []).forEach((e, i) => {
    const p = `${path}.envFrom[${i}]`;
    if (e.prefix) for (const m of isEnvVarName(e.prefix)) errs.push(fieldError.invalid(`${p}.prefix`, e.prefix, m));
    const n = Number(e.configMapRef !== undefined) + Number(e.secretRef !== undefined);
    if (n === 0) errs.push(fieldError.invalidOmitValue(p, 'must specify one of: `configMapRef` or `secretRef`'));
    if (n > 1) errs.push(fieldError.invalidOmitValue(p, 'may not have more than one field specified at a time'));
  });
}

/** Validates a pod spec at `path` (`spec` for pods, `spec.template.spec` for jobs). */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(spec)) return [fieldError.required(path)];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0 && Array.isArray(spec.containers)) errs.push(fieldError.required(`${path}.containers`));
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const p = `${path}.volumes[${i}].name`;
    if (!v.name) errs.push(fieldError.required(p));
    else {
      for (const m of isDns1123Label(v.name)) errs.push(fieldError.invalid(p, v.name, m));
      if (volumeNames.has(v.name)) errs.push(fieldError.duplicate(p, v.name));
      volumeNames.add(v.name);
    }
  });
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    if (!c.name) errs.push(fieldError.required(`${p}.name`));
    else if (names.has(c.name)) errs.push(fieldError.duplicate(`${p}.name`, c.name));
    else for (const m of isDns1123Label(c.name)) errs.push(fieldError.invalid(`${p}.name`, c.name, m));
    if (c.name) names.add(c.name);
    if (!c.image) errs.push(fieldError.required(`${p}.image`));
    else if (c.image.trim() !== c.image)
      errs.push(fieldError.invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
    if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy))
      errs.push(
        fieldError.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']),
      );
    (c.volumeMounts ?? []).forEach((m, j) => {
      if (m.name && !volumeNames.has(m.name))
        errs.push(
          new FieldError('FieldValueNotFound', `${p}.volumeMounts[${j}].name`, `Not found: ${JSON.stringify(m.name)}`),
        );
      if (!m.mountPath) errs.push(fieldError.required(`${p}.volumeMounts[${j}].mountPath`));
    });
    validateEnv(c, p, errs);
    validateResources(c, p, errs);
  });
  if (spec.restartPolicy && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy))
    errs.push(fieldError.notSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']));
  nonNegative(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, errs);
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0)
    errs.push(
      fieldError.invalid(
        `${path}.activeDeadlineSeconds`,
        spec.activeDeadlineSeconds,
        'must be between 1 and 2147483647, inclusive',
      ),
    );
  // Not simulated: say so rather than run something else than what the cluster would.
  if ((spec.initContainers ?? []).length > 0)
    errs.push(fieldError.forbidden(`${path}.initContainers`, 'kube-fake: init containers are not simulated'));
  if ((spec.ephemeralContainers ?? []).length > 0)
    errs.push(fieldError.forbidden(`${path}.ephemeralContainers`, 'kube-fake: ephemeral containers are not simulated'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Kinds

const jobNameFn = (name: string) => {
  const errs = isDns1123Subdomain(name);
  // The name becomes the value of the job-name label of every pod.
  if (errs.length === 0 && name.length > 63) errs.push('must be no more than 63 characters');
  return errs;
};

function validatePodFailurePolicy(job: Job, errs: FieldError[]): void {
  const spec = job.spec;
  const pfp = spec?.podFailurePolicy;
  if (!spec || !pfp) return;
  const rules = pfp.rules ?? [];
  const base = 'spec.podFailurePolicy.rules';
  if (rules.length > 20) errs.push(fieldError.tooMany(base, rules.length, 20));
  const containerNames = new Set((spec.template?.spec?.containers ?? []).map((c) => c.name));
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  rules.forEach((rule, i) => {
    const p = `${base}[${i}]`;
    if (!rule.action) errs.push(fieldError.required(`${p}.action`, `valid values: ${JSON.stringify(actions)}`));
    else if (rule.action === 'FailIndex') {
      if (spec.backoffLimitPerIndex === undefined)
        errs.push(fieldError.invalid(`${p}.action`, rule.action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!actions.includes(rule.action)) errs.push(fieldError.notSupported(`${p}.action`, rule.action, actions));
    const oec = rule.onExitCodes;
    const opc = rule.onPodConditions ?? [];
    if (oec) {
      const op = `${p}.onExitCodes`;
      if (!oec.operator) errs.push(fieldError.required(`${op}.operator`, 'valid values: ["In","NotIn"]'));
      else if (oec.operator !== 'In' && oec.operator !== 'NotIn')
        errs.push(fieldError.notSupported(`${op}.operator`, oec.operator, ['In', 'NotIn']));
      if (oec.containerName !== undefined && !containerNames.has(oec.containerName))
        errs.push(
          fieldError.invalid(
            `${op}.containerName`,
            oec.containerName,
            'must be one of the container or initContainer names in the pod template',
          ),
        );
      const values = oec.values ?? [];
      if (values.length === 0) errs.push(fieldError.invalid(`${op}.values`, values, 'at least one value is required'));
      else if (values.length > 255) errs.push(fieldError.tooMany(`${op}.values`, values.length, 255));
      const seen = new Set<number>();
      let ordered = true;
      values.forEach((v, j) => {
        if (oec.operator === 'In' && v === 0)
          errs.push(fieldError.invalid(`${op}.values[${j}]`, v, 'must not be 0 for the In operator'));
        if (seen.has(v)) errs.push(fieldError.duplicate(`${op}.values[${j}]`, v));
        seen.add(v);
        if (j > 0 && (values[j - 1] ?? 0) > v) ordered = false;
      });
      if (!ordered) errs.push(fieldError.invalid(`${op}.values`, values, 'must be ordered'));
    }
    if (opc.length > 20) errs.push(fieldError.tooMany(`${p}.onPodConditions`, opc.length, 20));
    opc.forEach((c, j) => {
      const cp = `${p}.onPodConditions[${j}]`;
      for (const m of isQualifiedName(c.type ?? '')) errs.push(fieldError.invalid(`${cp}.type`, c.type, m));
      if (!c.status) errs.push(fieldError.required(`${cp}.status`, 'valid values: ["False","True","Unknown"]'));
      else if (!['True', 'False', 'Unknown'].includes(c.status))
        errs.push(fieldError.notSupported(`${cp}.status`, c.status, ['False', 'True', 'Unknown']));
    });
    if (oec && opc.length > 0)
      errs.push(fieldError.invalidOmitValue(p, 'specifying both OnExitCodes and OnPodConditions is not supported'));
    if (!oec && opc.length === 0)
      errs.push(fieldError.invalidOmitValue(p, 'specifying one of OnExitCodes and OnPodConditions is required'));
  });
}

/** Validates a Job (after defaulting). `old` is given for updates (immutable fields). */
export function validateJob(job: Job, old?: Job): FieldError[] {
  const errs = validateObjectMeta(job.metadata, jobNameFn);
  const spec = job.spec;
  if (!isObject(spec)) return [...errs, fieldError.required('spec.template')];
  nonNegative('spec.parallelism', spec.parallelism, errs);
  nonNegative('spec.completions', spec.completions, errs);
  nonNegative('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, errs);
  nonNegative('spec.backoffLimit', spec.backoffLimit, errs);
  nonNegative('spec.ttlSecondsAfterFinished', spec.ttlSecondsAfterFinished, errs);
  const indexed = spec.completionMode === 'Indexed';
  if (spec.completionMode && spec.completionMode !== 'NonIndexed' && !indexed)
    errs.push(fieldError.notSupported('spec.completionMode', spec.completionMode, ['NonIndexed', 'Indexed']));
  if (!indexed) {
    if (spec.backoffLimitPerIndex !== undefined)
      errs.push(
        fieldError.invalid('spec.backoffLimitPerIndex', spec.backoffLimitPerIndex, 'requires indexed completion mode'),
      );
    if (spec.maxFailedIndexes !== undefined)
      errs.push(fieldError.invalid('spec.maxFailedIndexes', spec.maxFailedIndexes, 'requires indexed completion mode'));
    if (spec.successPolicy !== undefined)
      errs.push(fieldError.invalid('spec.successPolicy', spec.successPolicy, 'requires indexed completion mode'));
  }
  validatePodFailurePolicy(job, errs);
  if (spec.podReplacementPolicy !== undefined) {
    const allowed = spec.podFailurePolicy ? ['Failed'] : ['Failed', 'TerminatingOrFailed'];
    if (!allowed.includes(spec.podReplacementPolicy))
      errs.push(fieldError.notSupported('spec.podReplacementPolicy', spec.podReplacementPolicy, allowed));
  }
  if (spec.managedBy !== undefined && spec.managedBy.length > 63) errs.push(fieldError.tooLong('spec.managedBy', 63));

  const template = spec.template;
  errs.push(...validateLabels(template?.metadata?.labels, 'spec.template.metadata.labels'));
  errs.push(...validatePodSpec(template?.spec, 'spec.template.spec'));
  const rp = template?.spec?.restartPolicy;
  if (rp === 'Always' || !rp)
    errs.push(fieldError.required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'));
  else if (rp !== 'OnFailure' && rp !== 'Never')
    errs.push(fieldError.notSupported('spec.template.spec.restartPolicy', rp, ['OnFailure', 'Never']));
  else if (spec.podFailurePolicy && rp !== 'Never')
    errs.push(
      fieldError.invalid(
        'spec.template.spec.restartPolicy',
        rp,
        'only "Never" is supported when podFailurePolicy is specified',
      ),
    );

  // Selector: generated unless manualSelector, and always matching the template's labels.
  if (!spec.selector) errs.push(fieldError.required('spec.selector'));
  else {
    const reqs = requirementsFromLabelSelector(spec.selector);
    if (spec.manualSelector !== true) {
      const uid = job.metadata.uid ?? '';
      const name = job.metadata.name ?? '';
      const expected: Record<string, string> = {
        [JOB_LABELS.controllerUid]: uid,
        [JOB_LABELS.jobName]: name,
        [JOB_LABELS.legacyControllerUid]: uid,
        [JOB_LABELS.legacyJobName]: name,
      };
      const labels = template?.metadata?.labels ?? {};
      for (const [k, v] of Object.entries(expected))
        if (labels[k] !== v)
          errs.push(fieldError.invalid(`spec.template.metadata.labels[${k}]`, labels[k] ?? '', `must be '${v}'`));
      if (!matchesLabels(reqs, expected))
        errs.push(fieldError.invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
    }
    if (!matchesLabels(reqs, template?.metadata?.labels ?? {}))
      errs.push(
        fieldError.invalid(
          'spec.template.metadata.labels',
          template?.metadata?.labels ?? {},
          '`selector` does not match template `labels`',
        ),
      );
  }

  // What kube-fake does not simulate (fersweep runs one pod per trial).
  if (spec.completions !== undefined && spec.completions !== 1)
    errs.push(
      fieldError.forbidden('spec.completions', 'kube-fake simulates only completions=1 (one successful pod per Job)'),
    );
  if (spec.parallelism !== undefined && spec.parallelism > 1)
    errs.push(fieldError.forbidden('spec.parallelism', 'kube-fake simulates only parallelism=1 (one pod at a time)'));
  if (indexed) errs.push(fieldError.forbidden('spec.completionMode', 'kube-fake simulates only NonIndexed Jobs'));

  if (old?.spec) {
    const immutable = (path: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) errs.push(fieldError.invalid(path, a ?? null, 'field is immutable'));
    };
    immutable('spec.completions', spec.completions, old.spec.completions);
    immutable('spec.selector', spec.selector, old.spec.selector);
    immutable('spec.podFailurePolicy', spec.podFailurePolicy, old.spec.podFailurePolicy);
    // A suspended Job that never started may change its template (scheduling directives).
    const neverStarted = old.spec.suspend === true && !old.status?.startTime;
    if (!neverStarted) immutable('spec.template', spec.template, old.spec.template);
  }
  return errs;
}

/** Validates a Pod (after defaulting). */
export function validatePod(pod: Pod): FieldError[] {
  return [...validateObjectMeta(pod.metadata, isDns1123Subdomain), ...validatePodSpec(pod.spec, 'spec')];
}

function validateDataKeys(keys: string[], path: string, errs: FieldError[]): void {
  for (const k of keys) for (const m of isConfigMapKey(k)) errs.push(fieldError.invalid(path, k, m));
}

/** Validates a Secret (with `stringData` already merged into `data`). */
export function validateSecret(secret: Secret, old?: Secret): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, isDns1123Subdomain);
  const data = secret.data ?? {};
  validateDataKeys(Object.keys(data), 'data', errs);
  let size = 0;
  for (const v of Object.values(data)) size += Buffer.from(String(v), 'base64').length;
  if (size > 1024 * 1024) errs.push(fieldError.tooLong('data', 1024 * 1024));
  if (old?.immutable === true) {
    if (JSON.stringify(old.data ?? {}) !== JSON.stringify(data))
      errs.push(fieldError.forbidden('data', 'field is immutable when `immutable` is set'));
    if (secret.immutable !== true)
      errs.push(fieldError.forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  return errs;
}

/** Validates a ConfigMap. */
export function validateConfigMap(cm: ConfigMap, old?: ConfigMap): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, isDns1123Subdomain);
  const data = cm.data ?? {};
  const binary = cm.binaryData ?? {};
  validateDataKeys(Object.keys(data), 'data', errs);
  validateDataKeys(Object.keys(binary), 'binaryData', errs);
  for (const k of Object.keys(binary)) if (k in data) errs.push(fieldError.duplicate(`data[${k}]`, k));
  let size = 0;
  for (const v of Object.values(data)) size += String(v).length;
  for (const v of Object.values(binary)) size += Buffer.from(String(v), 'base64').length;
  if (size > 1024 * 1024) errs.push(fieldError.tooLong('', 1024 * 1024));
  if (old?.immutable === true) {
    if (
      JSON.stringify(old.data ?? {}) !== JSON.stringify(data) ||
      JSON.stringify(old.binaryData ?? {}) !== JSON.stringify(binary)
    )
      errs.push(fieldError.forbidden('data', 'field is immutable when `immutable` is set'));
    if (cm.immutable !== true)
      errs.push(fieldError.forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  return errs;
}
