/**
 * What a platform team meets on its first install (issue 13), offline: private-registry pull
 * secrets on every pod and the trainers' account, keyless S3 (IRSA / workload identity), the
 * `helm test` pod admitted by the NetworkPolicies, one coordinator replica (no leader election),
 * PDBs that protect something, an API token that no `helm template` sync rotates, the optional
 * Ingress, the chart icon and its generated README.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CHART, CI_VALUES, ROOT, STACK, helm, podSpecs, render, type K8sObject, type PodSpec } from './render.js';

const run = promisify(execFile);
const find = (objects: K8sObject[], kind: string, component?: string) =>
  objects.filter(
    (o) => o.kind === kind && (!component || o.metadata.labels?.['app.kubernetes.io/component'] === component),
  );
const coordinatorPod = (objects: K8sObject[]) =>
  (
    find(objects, 'Deployment', 'coordinator')[0]!.spec as {
      template: { metadata: K8sObject['metadata']; spec: PodSpec };
    }
  ).template;
const coordinatorEnv = (objects: K8sObject[]) =>
  Object.fromEntries(coordinatorPod(objects).spec.containers[0]!.env!.map((e) => [e.name, e.value]));
const lint = (extra: string[]) =>
  helm(['lint', '--strict', CHART, '-f', join(CHART, 'ci/minimal-values.yaml'), ...extra]);

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: unknown;
}
interface Policy {
  podSelector: { matchLabels: Record<string, string> };
  ingress: { from: Peer[]; ports: { port: string | number }[] }[];
}
const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

describe('private registry and keyless S3', () => {
  it('ci/external-values.yaml: imagePullSecrets on every pod, the trainers’ ServiceAccount and the coordinator’s trial Jobs', async () => {
    const objects = await render('external-values.yaml');
    for (const { owner, spec } of podSpecs(objects))
      expect({ owner, pullSecrets: (spec as { imagePullSecrets?: unknown }).imagePullSecrets }).toEqual({
        owner,
        pullSecrets: [{ name: 'regcred' }],
      });
    const trainerSa = find(objects, 'ServiceAccount', 'trainer')[0] as unknown as { imagePullSecrets?: unknown };
    expect(trainerSa.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(coordinatorEnv(objects).FERSWEEP_TRAINER_IMAGE_PULL_SECRETS).toBe('regcred');
  });

  it('ci/kueue-values.yaml (IRSA): role annotations on the trainers’ account, no S3 Secret for the Jobs', async () => {
    const objects = await render('kueue-values.yaml');
    expect(find(objects, 'ServiceAccount', 'trainer')[0]!.metadata.annotations).toEqual({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/fersweep-trainer',
    });
    const env = coordinatorEnv(objects);
    expect(env).not.toHaveProperty('FERSWEEP_TRAINER_SECRET');
    expect(env.FERSWEEP_TRAINER_CUDA_CACHE_CLAIM).toBe('fersweep-cuda-cache');
    expect(find(objects, 'Secret').map((s) => s.metadata.name)).toEqual(['fs-fersweep-api', 'fs-fersweep-tenants']);
  });
});

describe('helm test with networkPolicy.enabled', () => {
  it('the test pod is admitted on the http port of every Service it calls', async () => {
    const objects = await render('external-values.yaml');
    const testPod = find(objects, 'Pod', 'test')[0]!;
    const labels = testPod.metadata.labels!;
    const urls = (testPod.spec as PodSpec & { containers: { args?: string[] }[] }).containers[0]!.args!;
    expect(urls).toHaveLength(2);
    const policies = find(objects, 'NetworkPolicy');
    expect(policies).toHaveLength(3); // coordinator, evaluator, trainer (networkpolicy.test.ts)
    for (const url of urls) {
      const serviceName = new URL(url).hostname;
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === serviceName)!;
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      const governing = policies.filter((p) => selects((p.spec as Policy).podSelector, selector));
      expect(governing).toHaveLength(1);
      const admitted = (governing[0]!.spec as Policy).ingress.some(
        (rule) =>
          rule.ports.some((p) => p.port === 'http') &&
          rule.from.some((peer) => !peer.namespaceSelector && peer.podSelector && selects(peer.podSelector, labels)),
      );
      expect({ url, admitted }).toEqual({ url, admitted: true });
    }
  });
});

describe('one coordinator replica (no leader election)', () => {
  it('the schema refuses replicaCount > 1 and the removed HPA, naming the value', async () => {
    const two = await lint(['--set', 'coordinator.replicaCount=2']);
    expect(two.code).not.toBe(0);
    expect(two.out).toMatch(/coordinator\.replicaCount: Must be less than or equal to 1/);
    const hpa = await lint(['--set', 'coordinator.autoscaling.enabled=true']);
    expect(hpa.code).not.toBe(0);
    expect(hpa.out).toMatch(/autoscaling/);
  });

  it.each(CI_VALUES)('ci/%s: one replica, Recreate rollouts, no HPA, no PDB that protects nothing', async (file) => {
    const objects = await render(file);
    const deployment = find(objects, 'Deployment', 'coordinator')[0]!.spec as {
      replicas: number;
      strategy: { type: string };
    };
    expect(deployment.replicas).toBe(1);
    expect(deployment.strategy).toEqual({ type: 'Recreate' });
    expect(find(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    for (const pdb of find(objects, 'PodDisruptionBudget')) {
      const component = pdb.metadata.labels!['app.kubernetes.io/component']!;
      const replicas = (find(objects, 'Deployment', component)[0]!.spec as { replicas: number }).replicas;
      expect({ component, replicas: replicas > 1 }).toEqual({ component, replicas: true });
    }
  });

  it('an evaluator with 2 replicas gets its PDB', async () => {
    const objects = await render('minimal-values.yaml', ['--set', 'evaluator.replicaCount=2']);
    expect(find(objects, 'PodDisruptionBudget').map((p) => p.metadata.labels!['app.kubernetes.io/component'])).toEqual([
      'evaluator',
    ]);
  });
});

describe('API token Secret', () => {
  it('is never generated: without tokens or an existing Secret the render fails with what to set', async () => {
    const { code, out } = await helm([
      'template',
      'fs',
      CHART,
      '--set',
      'natsUrl=nats://n:4222,store.url=s3://b',
      '--kube-version',
      '1.29.0',
    ]);
    expect(code).not.toBe(0);
    expect(out).toMatch(/auth\.tokens \(or auth\.existingSecret\) is required/);
  });

  it('renders the same Secret every time (helm template, Argo CD) and restarts the coordinator when the tokens change', async () => {
    const [a, b] = await Promise.all([render('minimal-values.yaml'), render('minimal-values.yaml')]);
    const secret = (o: K8sObject[]) => find(o, 'Secret').find((s) => s.metadata.name.endsWith('-api'))!;
    expect(secret(a)).toEqual(secret(b));
    expect(secret(a).stringData).toEqual({ tokens: 'ci-token' });
    const changed = await render('minimal-values.yaml', ['--set', 'auth.tokens[0]=another']);
    const checksum = (o: K8sObject[]) => coordinatorPod(o).metadata.annotations?.['checksum/api-tokens'];
    expect(checksum(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(a)).toBe(checksum(b));
    expect(checksum(changed)).not.toBe(checksum(a));
  });
});

describe('Ingress, icon and README', () => {
  it('ci/external-values.yaml: an Ingress with TLS to the coordinator’s http port', async () => {
    const objects = await render('external-values.yaml');
    const [ingress] = find(objects, 'Ingress');
    const spec = ingress!.spec as {
      ingressClassName: string;
      tls: unknown[];
      rules: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
    };
    expect(spec.ingressClassName).toBe('nginx');
    expect(spec.tls).toEqual([{ secretName: 'fersweep-tls', hosts: ['fersweep.example.com'] }]);
    const service = find(objects, 'Service', 'coordinator')[0]!;
    expect(spec.rules[0]!.http.paths[0]!.backend.service).toEqual({
      name: service.metadata.name,
      port: { name: 'http' },
    });
    const bad = await lint(['--set', 'ingress.enabled=true']);
    expect(bad.out).toMatch(/ingress\.hosts needs at least one host/);
  });

  it('Chart.yaml has an icon that exists in the repository', () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { icon?: string };
    expect(chart.icon).toMatch(/^https:\/\/raw\.githubusercontent\.com\/fersweep\/fersweep\/main\/(.+\.svg)$/);
    const path = /\/main\/(.+)$/.exec(chart.icon!)![1]!;
    expect(readFileSync(join(ROOT, path), 'utf8')).toMatch(/^<svg /);
  });

  it('helm/fersweep/README.md is what readme-generator-for-helm generates from values.yaml (npm run chart-readme)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-readme-'));
    try {
      const readme = join(dir, 'README.md');
      copyFileSync(join(CHART, 'README.md'), readme);
      await run(process.execPath, [
        join(ROOT, 'node_modules/@bitnami/readme-generator-for-helm/bin/index.js'),
        '--values',
        join(CHART, 'values.yaml'),
        '--readme',
        readme,
      ]);
      expect(readFileSync(readme, 'utf8')).toBe(readFileSync(join(CHART, 'README.md'), 'utf8'));
      expect(readFileSync(readme, 'utf8')).toMatch(/\| `trainer\.cudaCache\.existingClaim` +\|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('helm/fersweep-stack can be built as documented', () => {
  it('its README adds every chart repository of Chart.yaml before helm dependency build', () => {
    const chart = parse(readFileSync(join(STACK, 'Chart.yaml'), 'utf8')) as {
      dependencies: { name: string; repository: string }[];
    };
    const remote = chart.dependencies.filter((d) => d.repository.startsWith('https://'));
    expect(remote.map((d) => d.name).sort()).toEqual(['minio', 'nats']);
    for (const doc of [join(STACK, 'README.md'), join(ROOT, 'README.md')]) {
      const text = readFileSync(doc, 'utf8');
      const build = text.indexOf('helm dependency build helm/fersweep-stack');
      expect({ doc, build: build >= 0 }).toEqual({ doc, build: true });
      for (const d of remote) {
        const add = text.indexOf(`helm repo add ${d.name} ${d.repository}`);
        expect({ doc, repo: d.name, addedBefore: add >= 0 && add < build }).toEqual({
          doc,
          repo: d.name,
          addedBefore: true,
        });
      }
    }
  });
});
