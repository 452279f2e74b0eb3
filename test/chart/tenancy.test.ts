/**
 * The chart's tenants document (issue 12, item 8): Helm `tenancy` and `policy` render one Secret that
 * both services mount and read as FERSWEEP_TENANTS_FILE; the coordinator's own loader accepts what
 * the chart writes, tokens resolve to their tenants, and values.schema.json refuses malformed tenants.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTenancy } from '@fersweep/coordinator';
import { tokenSha256 } from '@fersweep/observability';
import { parseAllDocuments } from 'yaml';
import { helm, render, CHART, KUBE_VERSION, ROOT, type K8sObject } from './render.js';

const acme = tokenSha256('acme-token');
/** `-f` with a values file holding `values` (JSON is YAML; this helm has no --set-json). */
function valuesArgs(values: unknown): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'fersweep-chart-')), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return ['-f', file];
}
const tenantsArgs = valuesArgs({
  tenancy: {
    tenants: [
      { name: 'acme', tokens: [{ sha256: acme }], policy: { queues: ['acme'], maxGpu: 1 } },
      { name: 'ops', role: 'admin', tokens: [{ sha256: tokenSha256('ops-token') }] },
    ],
  },
});

function podOf(objects: K8sObject[], name: string) {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
  return (
    d.spec as {
      template: {
        spec: {
          containers: {
            env: { name: string; value?: string }[];
            volumeMounts: { name: string; mountPath: string }[];
          }[];
          volumes: { name: string; secret?: { secretName: string } }[];
        };
      };
    }
  ).template.spec;
}

describe('chart: tenants and policy', () => {
  it('ships a Kueue example whose per-tenant LocalQueues each point at a ClusterQueue of the example', () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'k8s/examples/kueue-tenants.yaml'), 'utf8')).map(
      (d) =>
        d.toJS() as {
          apiVersion: string;
          kind: string;
          metadata: { name: string; namespace?: string };
          spec: Record<string, unknown>;
        },
    );
    expect(docs.every((d) => d.apiVersion === 'kueue.x-k8s.io/v1beta1')).toBe(true);
    const clusterQueues = docs.filter((d) => d.kind === 'ClusterQueue').map((d) => d.metadata.name);
    const local = docs.filter((d) => d.kind === 'LocalQueue');
    expect(local.length).toBeGreaterThanOrEqual(2);
    for (const q of local) {
      expect(q.metadata.namespace).toBe('fersweep');
      expect(clusterQueues).toContain(q.spec.clusterQueue);
    }
  });

  it('renders one Secret both services mount and read, which the coordinator accepts as written', async () => {
    const objects = await render('minimal-values.yaml', tenantsArgs);
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'fs-fersweep-tenants')!;
    const doc = (secret as unknown as { stringData: Record<string, string> }).stringData['tenants.json']!;
    for (const name of ['fs-fersweep-coordinator', 'fs-fersweep-evaluator']) {
      const pod = podOf(objects, name);
      expect(pod.containers[0]!.env).toContainEqual({
        name: 'FERSWEEP_TENANTS_FILE',
        value: '/etc/fersweep/tenants/tenants.json',
      });
      expect(pod.containers[0]!.volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'tenants', mountPath: '/etc/fersweep/tenants' }),
      );
      expect(pod.volumes.find((v) => v.name === 'tenants')?.secret?.secretName).toBe('fs-fersweep-tenants');
    }
    const tenancy = loadTenancy({ FERSWEEP_TENANTS: doc });
    expect(tenancy.tenants).toEqual(['acme', 'ops']);
    expect(tenancy.access.principal('Bearer acme-token')).toEqual({ tenant: 'acme', admin: false });
    expect(tenancy.access.principal('Bearer ops-token')).toEqual({ tenant: 'ops', admin: true });
    // acme's own fields over the chart's default policy.
    expect(tenancy.policyFor('acme')).toMatchObject({ queues: ['acme'], maxGpu: 1, maxCpu: '64', maxParallelism: 100 });
    expect(tenancy.policyFor('default')).toMatchObject({ maxGpu: 8, maxMemory: '512Gi' });
    expect(doc).not.toContain('acme-token');
  });

  it('mounts an existing Secret instead, and refuses malformed tenants', async () => {
    const objects = await render('minimal-values.yaml', [
      '--set',
      'tenancy.existingSecret=my-tenants',
      '--set',
      'tenancy.existingSecretKey=doc',
    ]);
    expect(objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'fs-fersweep-tenants')).toBe(false);
    expect(podOf(objects, 'fs-fersweep-coordinator').volumes.find((v) => v.name === 'tenants')).toMatchObject({
      secret: { secretName: 'my-tenants', items: [{ key: 'doc', path: 'tenants.json' }] },
    });
    for (const bad of [
      { tenancy: { tenants: [{ name: 'Bad--Name', tokens: [{ sha256: acme }] }] } },
      { tenancy: { tenants: [{ name: 'acme', tokens: [{ sha256: 'plaintext-token' }] }] } },
      { policy: { maxGpu: -1 } },
      { policy: { maxCpu: 'lots' } },
    ]) {
      const { code, out } = await helm([
        'template',
        'fs',
        CHART,
        '--kube-version',
        KUBE_VERSION,
        '-f',
        `${CHART}/ci/minimal-values.yaml`,
        ...valuesArgs(bad),
      ]);
      expect([bad, code]).toEqual([bad, 1]);
      expect(out).toMatch(/values don't meet the specifications of the schema/);
    }
  });
});
