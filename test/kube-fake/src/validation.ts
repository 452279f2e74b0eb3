/**
 * Validation of every written object: the Kubernetes OpenAPI schema (kubernetes-models
 * `.validate()`), then the checks the schema cannot express but the API server makes
 * (pkg/apis/core/validation, pkg/apis/batch/validation), with the server's field paths and
 * messages. Plus what this fake does not simulate, rejected up front with a "kube-fake:" message.
 */
import { JOB_LABELS } from './defaults.js';
import { isConfigMapKey, isDns1123Label, isDns1123Subdomain, isLabelValue, isQualifiedName } from './names.js';
import { matchesLabels, requirementsFromLabelSelector } from './selectors.js';
import { fieldError, type FieldError } from './status.js';
import type { ConfigMap, Job, ObjectMeta, Pod, Secret } from './types.js';
import { isObject } from './types.js';
import { nonNegative, validatePodSpec } from './validation-pod.js';

export { fieldPathFromPointer, validateSchema } from './validation-schema.js';
export { validatePodSpec } from './validation-pod.js';

// ---------------------------------------------------------------------------------------------
// ObjectMeta

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
