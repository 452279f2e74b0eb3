/**
 * The helm chart, offline: `helm lint --strict` and `helm template` for every ci values file, every
 * rendered object validated against the Kubernetes schemas, the security profile, least-privilege
 * RBAC, the env the services actually read, `promtool check rules` on the alerts, the dashboards'
 * ConfigMaps, the kustomize manifests in step with the chart, and the all-in-one chart's Chart.lock.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinatorConfig, loadConfig } from '@fersweep/coordinator';
import { EvaluatorConfig } from '@fersweep/evaluator';
import { parse, stringify } from 'yaml';
import {
  CHART,
  CI_VALUES,
  ROOT,
  STACK,
  helm,
  kustomize,
  kustomizeWithoutKubectl,
  podSpecs,
  render,
  securityViolations,
  validateObject,
  type K8sObject,
  type PodSpec,
} from './render.js';

const run = promisify(execFile);
const rendered = new Map<string, Promise<K8sObject[]>>(CI_VALUES.map((f) => [f, render(f)]));
const objectsOf = (file: string) => rendered.get(file)!;
const find = (objects: K8sObject[], kind: string, component?: string) =>
  objects.filter(
    (o) => o.kind === kind && (!component || o.metadata.labels?.['app.kubernetes.io/component'] === component),
  );
const deploymentSpec = (objects: K8sObject[], component: string) =>
  (find(objects, 'Deployment', component)[0]!.spec as { template: { spec: PodSpec } }).template.spec;

describe('helm chart helm/fersweep', () => {
  it('has ci values files for the minimal, external NATS/S3, Kueue and monitoring scenarios', () => {
    expect(CI_VALUES).toEqual([
      'external-values.yaml',
      'kueue-values.yaml',
      'minimal-values.yaml',
      'monitoring-values.yaml',
    ]);
  });

  it.each(CI_VALUES)('passes helm lint --strict with ci/%s', async (file) => {
    const { code, out } = await helm(['lint', '--strict', CHART, '-f', join(CHART, 'ci', file)]);
    expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(code).toBe(0);
  });

  it.each(CI_VALUES)('renders ci/%s into objects that are valid against the Kubernetes schemas', async (file) => {
    const objects = await objectsOf(file);
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) validateObject(o);
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'fersweep' });
      if (o.kind !== 'ConfigMap' || !o.metadata.labels?.grafana_dashboard) expect(o.metadata.namespace).toBe('sweeps');
    }
  });

  it.each(CI_VALUES)(
    'ci/%s: every pod is restricted, non-root, read-only and has requests and limits',
    async (file) => {
      const pods = podSpecs(await objectsOf(file));
      expect(pods.map((p) => p.owner).sort()).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Deployment\/.*coordinator$/),
          expect.stringMatching(/^Pod\/.*test$/),
        ]),
      );
      expect(pods.flatMap((p) => securityViolations(p.owner, p.spec))).toEqual([]);
    },
  );

  it.each(CI_VALUES)('ci/%s: RBAC is one namespaced Role with exactly what the coordinator needs', async (file) => {
    const objects = await objectsOf(file);
    expect(objects.filter((o) => /^Cluster/.test(o.kind))).toEqual([]);
    const [role, ...more] = find(objects, 'Role');
    expect(more).toEqual([]);
    const rules = (role as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
    expect(JSON.stringify(rules)).not.toContain('*');
    expect(rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
    ]);
    const [binding] = find(objects, 'RoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    }[];
    expect(binding!.roleRef).toMatchObject({ kind: 'Role', name: role!.metadata.name });
    const coordinator = deploymentSpec(objects, 'coordinator');
    expect(binding!.subjects).toEqual([
      { kind: 'ServiceAccount', name: coordinator.serviceAccountName, namespace: 'sweeps' },
    ]);
    expect(deploymentSpec(objects, 'evaluator').automountServiceAccountToken).toBe(false);
  });

  it.each(CI_VALUES)('ci/%s: the services get only variables they read, wired to objects that exist', async (file) => {
    const objects = await objectsOf(file);
    const known = {
      coordinator: [...Object.keys(CoordinatorConfig.shape), 'HOME'],
      evaluator: [...Object.keys(EvaluatorConfig.shape), 'HOME'],
    };
    for (const component of ['coordinator', 'evaluator'] as const) {
      const env = Object.fromEntries(
        deploymentSpec(objects, component).containers[0]!.env!.map((e) => [e.name, e.value ?? '(from)']),
      );
      expect(Object.keys(env).filter((k) => !known[component].includes(k))).toEqual([]);
      expect(EvaluatorConfig.shape.FERSWEEP_PORT.parse(env.FERSWEEP_PORT)).toBe(
        component === 'coordinator' ? 8080 : 8081,
      );
    }
    const coord = Object.fromEntries(
      deploymentSpec(objects, 'coordinator').containers[0]!.env!.map((e) => [e.name, e]),
    );
    expect(coord.FERSWEEP_LAUNCHER!.value).toBe('kubernetes');
    const has = (kind: string, name?: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
    expect(has('ConfigMap', coord.FERSWEEP_TRAINER_CONFIGMAP!.value)).toBe(true);
    expect(has('ServiceAccount', coord.FERSWEEP_TRAINER_SERVICE_ACCOUNT!.value)).toBe(true);
    const evaluatorService = find(objects, 'Service', 'evaluator')[0]!;
    expect(coord.FERSWEEP_EVALUATOR_URL!.value).toBe(`http://${evaluatorService.metadata.name}:8081`);
    const trainerCm = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === coord.FERSWEEP_TRAINER_CONFIGMAP!.value,
    )!;
    expect(Object.keys(trainerCm.data as object)).toEqual(
      expect.arrayContaining(['NATS_URL', 'FERSWEEP_STORE', 'AWS_REGION']),
    );
  });

  it('publishes the trainer values (GPUs, node selector, tolerations, priority, Kueue queue) as sweep defaults', async () => {
    const cm = (await objectsOf('kueue-values.yaml')).find((o) => o.metadata.name.endsWith('sweep-defaults'))!;
    expect(parse((cm.data as Record<string, string>)['sweep-defaults.yaml']!)).toEqual({
      resources: {
        gpu: 1,
        cpu: '8',
        memory: '32Gi',
        nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        priorityClassName: 'ml-batch-low',
      },
      queueName: 'team-vision',
    });
  });

  it('keeps every name within 63 characters with a long release name', async () => {
    const objects = await objectsOf('monitoring-values.yaml');
    for (const o of objects) expect(o.metadata.name.length).toBeLessThanOrEqual(63);
  });

  it('labels ServiceMonitors for kube-prometheus-stack and dashboards for the Grafana sidecar', async () => {
    const objects = await objectsOf('monitoring-values.yaml');
    const monitors = find(objects, 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual([
      'coordinator',
      'evaluator',
    ]);
    for (const m of monitors) expect(m.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    for (const m of monitors) {
      const selector = (m.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const services = find(objects, 'Service').filter((s) =>
        Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v),
      );
      expect(services).toHaveLength(1);
    }
    const dashboards = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    expect(dashboards.map((d) => Object.keys(d.data as object)[0]).sort()).toEqual([
      'operations.json',
      'sweep-overview.json',
    ]);
    for (const d of dashboards) {
      expect(d.metadata.namespace).toBe('monitoring');
      const json = JSON.parse(Object.values(d.data as Record<string, string>)[0]!) as {
        uid: string;
        panels: unknown[];
      };
      expect(json.uid).toMatch(/^fersweep-/);
      expect(json.panels.length).toBeGreaterThan(5);
    }
    expect(find(objects, 'PrometheusRule')[0]!.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
  });

  it('renders alerts that promtool check rules accepts, covering failures, stalls, lag and a down coordinator', async () => {
    const rule = find(await objectsOf('monitoring-values.yaml'), 'PrometheusRule')[0]!;
    const spec = rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] };
    expect(spec.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(
      expect.arrayContaining([
        'FersweepTrialsFailed',
        'FersweepSweepStalled',
        'FersweepEvaluatorConsumerLag',
        'FersweepCoordinatorDown',
      ]),
    );
    expect(JSON.stringify(spec)).not.toContain('__');
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-rules-'));
    try {
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, stringify(spec));
      const { stdout } = await run('promtool', ['check', 'rules', file]);
      expect(stdout).toMatch(/SUCCESS: 6 rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders the optional objects only when asked: S3 Secret, Ingress, no HPA by default', async () => {
    const external = await objectsOf('external-values.yaml');
    expect(find(external, 'NetworkPolicy')).toHaveLength(3);
    expect(find(external, 'Ingress')).toHaveLength(1);
    const s3 = find(external, 'Secret').find((s) => s.metadata.name.endsWith('-s3'))!;
    expect(s3.stringData).toMatchObject({ AWS_ACCESS_KEY_ID: 'fersweep' });
    expect(find(external, 'Secret').some((s) => s.metadata.name.endsWith('-api'))).toBe(false);
    const minimal = await objectsOf('minimal-values.yaml');
    for (const kind of ['Ingress', 'HorizontalPodAutoscaler', 'ServiceMonitor', 'PrometheusRule'])
      expect(find(minimal, kind)).toEqual([]);
    // The tenants document (default policy, no tenants) is always there: both services mount it.
    expect(find(minimal, 'Secret').map((s) => s.metadata.name)).toEqual(['fs-fersweep-api', 'fs-fersweep-tenants']);
  });

  it('refuses to render without NATS or a store, naming the value', async () => {
    const { code, out } = await helm([
      'template',
      'fs',
      CHART,
      '--kube-version',
      '1.29.0',
      '--set',
      'auth.tokens[0]=t',
    ]);
    expect(code).not.toBe(0);
    expect(out).toMatch(/natsUrl is required/);
    const bad = await helm([
      'lint',
      '--strict',
      CHART,
      '-f',
      join(CHART, 'ci/minimal-values.yaml'),
      '--set',
      'trainer.gpu=-1',
    ]);
    expect(bad.out).toMatch(/trainer\.gpu: Must be greater than or equal to 0/);
  });
});

describe('trainer defaults reach the coordinator', () => {
  it('kueue scenario: nodeSelector, tolerations, priority class and queue become coordinator env its config accepts', async () => {
    const container = deploymentSpec(await objectsOf('kueue-values.yaml'), 'coordinator').containers[0]!;
    const env = Object.fromEntries(
      (container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
    );
    const config = loadConfig({ ...env, FERSWEEP_API_TOKENS: 'x' });
    expect(config.FERSWEEP_TRAINER_NODE_SELECTOR).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB' });
    expect(config.FERSWEEP_TRAINER_TOLERATIONS).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(config.FERSWEEP_TRAINER_PRIORITY_CLASS).toBe('ml-batch-low');
    expect(config.FERSWEEP_KUEUE_QUEUE).toBe('team-vision');
  });
});

describe('k8s/ plain manifests', () => {
  it('k8s/base/fersweep.yaml is what scripts/render-k8s.mjs renders from the chart', async () => {
    const { code, out } = await run(process.execPath, [join(ROOT, 'scripts/render-k8s.mjs'), '--check']).then(
      (r) => ({ code: 0, out: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, out: e.stderr }),
    );
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it.each(['base', 'overlays/dev', 'overlays/gpu-cluster'])(
    'kubectl kustomize k8s/%s builds valid, restricted objects',
    async (dir) => {
      const objects = await kustomize(dir);
      for (const o of objects) validateObject(o);
      expect(
        objects
          .filter((o) => o.kind !== 'Namespace' && o.kind !== 'PriorityClass')
          .every((o) => o.metadata.namespace === 'fersweep'),
      ).toBe(true);
      expect(podSpecs(objects).flatMap((p) => securityViolations(p.owner, p.spec))).toEqual([]);
      expect(find(objects, 'Deployment').length).toBeGreaterThanOrEqual(2);
      if (dir === 'overlays/dev' && objects.some((o) => o.kind === 'Secret')) {
        const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'fersweep-trainer')!;
        expect(cm.data).toMatchObject({ NATS_URL: 'nats://nats:4222', AWS_ENDPOINT_URL_S3: 'http://minio:9000' });
        expect(
          find(objects, 'Secret')
            .map((s) => s.metadata.name)
            .sort(),
        ).toEqual(['fersweep-api-tokens', 'fersweep-s3', 'fersweep-tenants']);
        const env = deploymentSpec(objects, 'coordinator').containers[0]!.env!;
        expect(env.find((e) => e.name === 'FERSWEEP_TRAINER_IMAGE')!.value).toBe('ghcr.io/fersweep/fersweep:0.1.0');
      }
    },
  );
});

/** Lists of named items (containers, env, volumes) sorted by name: kubectl and the fallback order merged items differently. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(normalize);
    return items.every((i) => typeof (i as { name?: unknown })?.name === 'string')
      ? items.sort((a, b) => String((a as { name: string }).name).localeCompare((b as { name: string }).name))
      : items;
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

describe('k8s/ overlays patch by name', () => {
  it.each(['overlays/dev', 'overlays/gpu-cluster'])(
    'k8s/%s: strategic merge patch files only, never a JSON patch into a list by index',
    (dir) => {
      const text = readFileSync(join(ROOT, 'k8s', dir, 'kustomization.yaml'), 'utf8');
      const { patches = [] } = parse(text) as { patches?: { path?: string; patch?: string }[] };
      expect(patches.length).toBeGreaterThan(0);
      for (const p of patches) expect(p).toEqual({ path: expect.stringMatching(/\.yaml$/) });
      expect(text).not.toMatch(/\/\d+(\/|$)/m);
    },
  );
});

describe('k8s/ overlays without kubectl', () => {
  const hasKubectl = run('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  it.each(['base', 'overlays/dev', 'overlays/gpu-cluster'])(
    'the kubectl-free build of k8s/%s (CI has no kubectl) equals kubectl kustomize',
    async (dir) => {
      if (!(await hasKubectl)) return; // the cross-check needs kubectl; the build itself is tested above
      const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
      const sorted = (objects: K8sObject[]) =>
        [...objects]
          .map((o) => (o.kind === 'Secret' && o.data ? { ...o, data: undefined } : o))
          .sort((a, b) => key(a).localeCompare(key(b)))
          .map(normalize);
      const fallback = await kustomizeWithoutKubectl(join(ROOT, 'k8s', dir));
      const real = (await kustomize(dir)).map((o) =>
        o.kind === 'Secret' && o.data
          ? {
              ...o,
              stringData: Object.fromEntries(
                Object.entries(o.data as Record<string, string>).map(([k, v]) => [
                  k,
                  Buffer.from(v, 'base64').toString(),
                ]),
              ),
            }
          : o,
      );
      expect(JSON.parse(JSON.stringify(sorted(fallback)))).toEqual(JSON.parse(JSON.stringify(sorted(real))));
    },
  );
});

describe('helm/fersweep-stack (all-in-one with NATS and MinIO)', () => {
  it('has a hand-written Chart.lock that helm accepts as in sync with Chart.yaml', async () => {
    // `helm dependency build --skip-refresh` checks the lock digest, then needs the repositories'
    // cached indexes (not here, offline): failing on the index, not on the digest, proves the sync.
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-stack-'));
    try {
      cpSync(join(ROOT, 'helm'), join(dir, 'helm'), { recursive: true });
      const repos = join(dir, 'repositories.yaml');
      const chart = readFileSync(join(STACK, 'Chart.yaml'), 'utf8');
      const urls = [...chart.matchAll(/repository: (https:\S+)/g)].map((m) => m[1]!);
      expect(urls).toHaveLength(2);
      writeFileSync(repos, stringify({ apiVersion: '', repositories: urls.map((url, i) => ({ name: `r${i}`, url })) }));
      const { out } = await helm(['dependency', 'build', '--skip-refresh', join(dir, 'helm/fersweep-stack')], {
        HELM_REPOSITORY_CONFIG: repos,
        HELM_REPOSITORY_CACHE: join(dir, 'cache'),
      });
      expect(out).not.toMatch(/out of sync/);
      expect(out).toMatch(/index\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
