/**
 * Issue 12 item 4: NetworkPolicies on by default, in the chart and in k8s/base. Each policy is
 * checked for what it admits (coordinator ← namespace, apiFrom, monitoring; evaluator ← coordinator,
 * helm test, monitoring; trial pods ← nothing) and lets out (DNS, NATS, S3, the Kubernetes API), and
 * the dev overlay is checked by evaluating the policies as a CNI does (additive, per pod and port):
 * every component reaches NATS and the in-cluster MinIO, no trial reaches either API.
 */
import { describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourcesSpec, TrialSpec } from '@fersweep/contracts';
import { buildJob } from '@fersweep/coordinator';
import {
  CHART,
  CI_VALUES,
  ROOT,
  helm,
  kustomizeWithoutKubectl,
  parseObjects,
  render,
  type K8sObject,
} from './render.js';

const find = (objects: K8sObject[], kind: string, component?: string) =>
  objects.filter(
    (o) => o.kind === kind && (!component || o.metadata.labels?.['app.kubernetes.io/component'] === component),
  );

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: unknown;
}
interface Policy {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: string[];
  ingress?: { from: Peer[]; ports: { port: string | number }[] }[];
  egress?: { to?: Peer[]; ports?: { port: string | number; protocol: string }[] }[];
}
const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/** The labels of a trial pod, as the coordinator's Jobs set them. */
const trialLabels = buildJob(
  TrialSpec.parse({
    sweep: 's',
    trial: 't',
    variant: 'v',
    model: 'cnn',
    params: {},
    dataset: 's3://b/d',
    output: 's3://b',
    epochs: 1,
  }),
  { retries: 0, deadlineSeconds: 60, resources: ResourcesSpec.parse({}) },
  { namespace: 'ml', image: 'i', configMapName: 'c' },
).spec!.template.metadata!.labels!;

/**
 * Whether a pod labelled `from` may open TCP `port` to a pod labelled `to` in the same namespace,
 * by egress alone (numeric ports; a rule without `to` admits any destination).
 */
function egressAllowed(policies: Policy[], from: Record<string, string>, to: Record<string, string>, port: number) {
  const governing = policies.filter((p) => p.policyTypes.includes('Egress') && selects(p.podSelector, from));
  if (governing.length === 0) return true;
  return governing.some((p) =>
    (p.egress ?? []).some(
      (rule) =>
        (!rule.to ||
          rule.to.some((peer) => peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector, to))) &&
        (!rule.ports || rule.ports.some((q) => q.port === port && q.protocol === 'TCP')),
    ),
  );
}

describe('NetworkPolicies on by default (issue 12 item 4)', () => {
  const policyOf = (objects: K8sObject[], component: string) => {
    const found = find(objects, 'NetworkPolicy', component);
    expect(found).toHaveLength(1);
    return found[0]!.spec as Policy;
  };
  const componentOf = (peer: Peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'];

  it.each(CI_VALUES)(
    'ci/%s: coordinator ← namespace, apiFrom, monitoring; evaluator ← coordinator, helm test, monitoring',
    async (file) => {
      const objects = await render(file);
      const coordinator = policyOf(objects, 'coordinator');
      const evaluator = policyOf(objects, 'evaluator');
      for (const p of [coordinator, evaluator]) {
        expect(p.policyTypes).toEqual(['Ingress', 'Egress']);
        expect(p.ingress!.flatMap((r) => r.ports!.map((port) => port.port))).toEqual(['http']);
      }
      // The evaluator (reports, finalize) admits pods only by component label, never a whole namespace but monitoring's.
      const evalPeers = evaluator.ingress!.flatMap((r) => r.from);
      expect(evalPeers.filter((p) => p.podSelector).map(componentOf)).toEqual(['coordinator', 'test']);
      expect(evalPeers.filter((p) => !p.podSelector)).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
      expect(evalPeers.some((p) => p.podSelector && Object.keys(p.podSelector).length === 0)).toBe(false);
      // Egress: DNS, NATS 4222, S3/HTTPS 443, the Kubernetes API 6443; the coordinator also reaches the evaluator.
      const ports = (p: Policy) =>
        p.egress!.filter((r) => !r.to).flatMap((r) => r.ports!.map((port) => `${port.port}/${port.protocol}`));
      for (const p of [coordinator, evaluator])
        expect(ports(p)).toEqual(['53/UDP', '53/TCP', '4222/TCP', '443/TCP', '6443/TCP']);
      expect(coordinator.egress!.filter((r) => r.to).map((r) => [r.to!.map(componentOf), r.ports])).toEqual([
        [['evaluator'], [{ port: 'http', protocol: 'TCP' }]],
      ]);
      expect(evaluator.egress!.filter((r) => r.to)).toEqual([]);

      // Trial pods (the coordinator's Jobs, not helm's): no ingress; DNS, NATS, S3 out — so neither API port.
      const trainer = policyOf(objects, 'trainer');
      const labels = trialLabels;
      expect(selects(trainer.podSelector, labels)).toBe(true);
      for (const component of ['coordinator', 'evaluator'])
        expect(selects(trainer.podSelector, { ...labels, 'app.kubernetes.io/component': component })).toBe(false);
      expect(trainer.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(trainer.ingress).toEqual([]);
      expect(ports(trainer)).toEqual(ports(evaluator));
      expect(trainer.egress!.filter((r) => r.to)).toEqual([]);
    },
  );

  it('the kustomize base (k8s/base) carries them, and networkPolicy.enabled=false removes them', async () => {
    const base = parseObjects(readFileSync(join(ROOT, 'k8s/base/fersweep.yaml'), 'utf8'));
    expect(
      policyOf(base, 'evaluator')
        .ingress!.flatMap((r) => r.from)
        .map(componentOf),
    ).toEqual(['coordinator', 'test', undefined]);
    expect(policyOf(base, 'coordinator').policyTypes).toEqual(['Ingress', 'Egress']);
    const off = await render('minimal-values.yaml', ['--set', 'networkPolicy.enabled=false']);
    expect(find(off, 'NetworkPolicy')).toEqual([]);
  });

  it('the evaluator reads the same API tokens as the coordinator', async () => {
    const objects = await render('minimal-values.yaml');
    const tokensOf = (component: string) =>
      (
        find(objects, 'Deployment', component)[0]!.spec as {
          template: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } };
        }
      ).template.spec.containers[0]!.env.find((e) => e.name === 'FERSWEEP_API_TOKENS')?.valueFrom;
    expect(tokensOf('evaluator')).toEqual({ secretKeyRef: { name: 'fs-fersweep-api', key: 'tokens' } });
    expect(tokensOf('evaluator')).toEqual(tokensOf('coordinator'));
  });
  it('k8s/overlays/dev: every component reaches NATS and the in-cluster MinIO; trials reach neither API', async () => {
    const objects = await kustomizeWithoutKubectl(join(ROOT, 'k8s/overlays/dev'));
    const policies = find(objects, 'NetworkPolicy').map((p) => p.spec as Policy);
    const podLabels = (name: string) =>
      (
        objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!.spec as {
          template: { metadata: { labels: Record<string, string> } };
        }
      ).template.metadata.labels;
    const [coordinator, evaluator, nats, minio] = ['fersweep-coordinator', 'fersweep-evaluator', 'nats', 'minio'].map(
      podLabels,
    ) as Record<string, string>[];
    const reach = (from: Record<string, string>) => ({
      nats: egressAllowed(policies, from, nats!, 4222),
      minio: egressAllowed(policies, from, minio!, 9000),
      coordinator: egressAllowed(policies, from, coordinator!, 8080),
      evaluator: egressAllowed(policies, from, evaluator!, 8081),
      elsewhere: egressAllowed(policies, from, { app: 'other' }, 5432),
    });
    expect(reach(trialLabels)).toEqual({
      nats: true,
      minio: true,
      coordinator: false,
      evaluator: false,
      elsewhere: false,
    });
    expect(reach(evaluator!)).toEqual({
      nats: true,
      minio: true,
      coordinator: false,
      evaluator: false,
      elsewhere: false,
    });
    // The coordinator's rule to the evaluator names its port ('http'): checked in the test above.
    expect(reach(coordinator!)).toMatchObject({ nats: true, minio: true, elsewhere: false });
  });
});

describe('NOTES.txt with the policies on', () => {
  const ci = (file: string) => readFileSync(join(CHART, 'ci', file), 'utf8');
  /** NOTES.txt as `helm install` prints it (helm template skips it: rendered here through a ConfigMap). */
  async function notes(values: string): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'fersweep-notes-'));
    try {
      cpSync(CHART, join(dir, 'chart'), { recursive: true });
      cpSync(join(CHART, 'templates/NOTES.txt'), join(dir, 'chart/notes.txt'));
      writeFileSync(
        join(dir, 'chart/templates/zz-notes.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
      );
      const args = [
        'template',
        'fs',
        join(dir, 'chart'),
        '--kube-version',
        '1.29.0',
        '--show-only',
        'templates/zz-notes.yaml',
      ];
      writeFileSync(join(dir, 'values.yaml'), values);
      const { code, out } = await helm([...args, '-f', join(dir, 'values.yaml')]);
      expect(code).toBe(0);
      return (parseObjects(out)[0] as unknown as { data: { notes: string } }).data.notes;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('points at the report through the coordinator (a browser cannot send the evaluator its token)', async () => {
    const text = await notes(ci('minimal-values.yaml'));
    expect(text).toMatch(/fersweep report SWEEP --out/);
    expect(text).not.toMatch(/port-forward svc\/fs-fersweep-evaluator/);
    expect(text).not.toMatch(/networkPolicy\.apiFrom/); // no Ingress: nothing to admit
  });

  it('says to set networkPolicy.apiFrom when an Ingress is on and no peer is listed', async () => {
    const external = ci('external-values.yaml');
    expect(await notes(external)).not.toMatch(/networkPolicy\.apiFrom/);
    const withoutPeers = external.replace(
      /apiFrom:\n\s+- namespaceSelector:\n\s+matchLabels:\n\s+.*\n/,
      'apiFrom: []\n',
    );
    expect(withoutPeers).toMatch(/apiFrom: \[\]\ningress:/);
    expect(await notes(withoutPeers)).toMatch(/set networkPolicy\.apiFrom/);
  });
});
