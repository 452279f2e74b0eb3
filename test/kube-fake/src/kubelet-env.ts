/**
 * A container's environment as the kubelet resolves it: env, valueFrom secretKeyRef /
 * configMapKeyRef / fieldRef / resourceFieldRef, envFrom, and `$(VAR)` expansion.
 */
import { cpus, totalmem } from 'node:os';
import { parseQuantity } from './quantity.js';
import type { ObjectStore } from './store.js';
import type { ConfigMap, Container, Pod, Secret } from './types.js';

/** Container env or an error the kubelet reports as CreateContainerConfigError. */
export type EnvResult = { env: Record<string, string> } | { error: string };

/** `$(VAR)` expansion as the kubelet does it (`$$` escapes, unknown references stay). */
export function expandVars(s: string, env: Readonly<Record<string, string>>): string {
  return s.replace(/\$\$|\$\(([^)]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(env, name) ? (env[name] ?? '') : m;
  });
}

/** Resolves a container's environment; errors are what the kubelet reports for missing refs. */
export function resolveEnv(
  pod: Pod,
  c: Container,
  store: ObjectStore,
  options: { baseEnv?: Readonly<Record<string, string>>; nodeName: string },
): EnvResult {
  const ns = pod.metadata.namespace ?? '';
  const env: Record<string, string> = { ...options.baseEnv, HOSTNAME: pod.metadata.name ?? '' };
  const secret = (name: string) => store.get<Secret>('secrets', ns, name);
  const configMap = (name: string) => store.get<ConfigMap>('configmaps', ns, name);
  const decode = (v: string) => Buffer.from(v, 'base64').toString('utf8');
  const valid = (k: string) => /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(k);
  for (const src of c.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    if (src.configMapRef) {
      const cm = configMap(src.configMapRef.name ?? '');
      if (!cm) {
        if (src.configMapRef.optional) continue;
        return { error: `configmap "${src.configMapRef.name ?? ''}" not found` };
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (valid(prefix + k)) env[prefix + k] = String(v);
    } else if (src.secretRef) {
      const s = secret(src.secretRef.name ?? '');
      if (!s) {
        if (src.secretRef.optional) continue;
        return { error: `secret "${src.secretRef.name ?? ''}" not found` };
      }
      for (const [k, v] of Object.entries(s.data ?? {})) if (valid(prefix + k)) env[prefix + k] = decode(String(v));
    }
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = expandVars(e.value ?? '', env);
      continue;
    }
    if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const s = secret(ref.name ?? '');
      if (!s) {
        if (ref.optional) continue;
        return { error: `secret "${ref.name ?? ''}" not found` };
      }
      const v = s.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        return { error: `couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''}` };
      }
      env[e.name] = decode(String(v));
    } else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const cm = configMap(ref.name ?? '');
      if (!cm) {
        if (ref.optional) continue;
        return { error: `configmap "${ref.name ?? ''}" not found` };
      }
      const v = cm.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        return { error: `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''}` };
      }
      env[e.name] = String(v);
    } else if (vf.fieldRef) {
      env[e.name] = fieldRefValue(pod, vf.fieldRef.fieldPath, options.nodeName);
    } else if (vf.resourceFieldRef) {
      const ref = vf.resourceFieldRef;
      const target = ref.containerName ? pod.spec?.containers.find((x) => x.name === ref.containerName) : c;
      env[e.name] = resourceFieldValue(target, ref.resource, ref.divisor);
    }
  }
  return { env };
}

function fieldRefValue(pod: Pod, path: string, nodeName: string): string {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return '127.0.0.1';
    default:
      return '';
  }
}

function resourceFieldValue(c: Container | undefined, resource: string, divisor: string | number | undefined): string {
  const [kind, name] = resource.split('.') as [string, string | undefined];
  const list = kind === 'limits' ? c?.resources?.limits : c?.resources?.requests;
  const raw = name ? list?.[name] : undefined;
  // Without a limit the node's allocatable applies.
  const nodeDefault = name === 'cpu' ? cpus().length : name === 'memory' ? totalmem() : 0;
  const value = raw !== undefined ? (parseQuantity(raw) ?? 0) : kind === 'limits' ? nodeDefault : 0;
  const div = divisor !== undefined ? (parseQuantity(divisor) ?? 1) : 1;
  return String(Math.ceil(value / (div || 1)));
}
