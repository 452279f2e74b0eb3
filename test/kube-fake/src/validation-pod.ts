/** The pod spec checks the schema cannot express (pkg/apis/core/validation): resources, env, containers, volumes. */
import { isConfigMapKey, isDns1123Label, isEnvVarName, isQualifiedName } from './names.js';
import { isWholeQuantity, parseQuantity } from './quantity.js';
import { FieldError, fieldError } from './status.js';
import type { Container, PodSpec } from './types.js';
import { isObject } from './types.js';

export const nonNegative = (path: string, v: number | undefined, errs: FieldError[]) => {
  if (v !== undefined && v < 0) errs.push(fieldError.invalid(path, v, 'must be greater than or equal to 0'));
};

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
