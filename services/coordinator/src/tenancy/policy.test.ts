/**
 * The submission policy (issue 12, item 3): each rule refuses what the landed tree accepted
 * (`file:///etc`, another tenant's bucket, the metadata address, tolerate-all, control-plane
 * nodeSelector, system-node-critical, 999999 CPUs) with its status, stable code, field and rule —
 * and lets an ordinary spec through.
 */
import { describe, expect, it } from '@jest/globals';
import { SweepSpec } from '@fersweep/contracts';
import { admit, isBlockedHost, mergePolicy, Policy, PolicyError, type AdmissionContext } from './policy.js';
import { parseQuantity } from './quantity.js';

const spec = (over: Record<string, unknown> = {}, params: Record<string, unknown> = {}) =>
  SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'p' },
    spec: {
      dataset: 's3://fer-data/acme/fer2013',
      variants: [{ name: 'a', model: 'cnn', params }],
      ...over,
    },
  });

const acme: Policy = Policy.parse({
  datasets: ['s3://fer-data/acme/', 's3://public-fer/'],
  priorityClasses: ['batch-low'],
  queues: ['acme-queue'],
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  nodeSelectors: { 'cloud.google.com/gke-accelerator': ['nvidia-l4'] },
  maxCpu: '8',
  maxMemory: '32Gi',
  maxGpu: 2,
  maxTrials: 50,
  maxParallelism: 8,
});
const cluster: AdmissionContext = { tenant: 'acme', embedded: false, policy: {} };
const tenant: AdmissionContext = { tenant: 'acme', embedded: false, policy: acme };
const ok = { queueName: 'acme-queue' };

function refusal(s: SweepSpec, ctx: AdmissionContext) {
  try {
    admit(s, ctx);
  } catch (err) {
    if (err instanceof PolicyError) return { status: err.status, code: err.code, field: err.field, rule: err.rule };
    throw err;
  }
  return undefined;
}

describe('submission policy', () => {
  it('admits an ordinary spec, with and without a tenant policy', () => {
    expect(refusal(spec(), cluster)).toBeUndefined();
    expect(refusal(spec(ok), tenant)).toBeUndefined();
    expect(refusal(spec({ dataset: 'file:///home/me/fer' }), { ...cluster, embedded: true })).toBeUndefined();
  });

  it.each([
    ['file:///etc on a cluster', { dataset: 'file:///etc' }, cluster, 403, 'DatasetNotAllowed', 'spec.dataset'],
    ['a plain path on a cluster', { dataset: '/etc/passwd' }, cluster, 403, 'DatasetNotAllowed', 'spec.dataset'],
    [
      'the metadata address',
      { dataset: 'http://169.254.169.254/latest/meta-data' },
      cluster,
      422,
      'UnsupportedUrlScheme',
      'spec.dataset',
    ],
    ['https datasets', { dataset: 'https://example.com/fer' }, cluster, 422, 'UnsupportedUrlScheme', 'spec.dataset'],
    ['gs://', { dataset: 'gs://bucket/x' }, cluster, 422, 'UnsupportedUrlScheme', 'spec.dataset'],
    ['.. segments', { dataset: 's3://fer-data/acme/../beta/x' }, tenant, 422, 'InvalidUrl', 'spec.dataset'],
    ['encoded dots', { dataset: 's3://fer-data/acme/%2e%2e/beta' }, tenant, 422, 'InvalidUrl', 'spec.dataset'],
    [
      "another tenant's bucket",
      { dataset: 's3://fer-data/beta/fer', ...ok },
      tenant,
      403,
      'DatasetNotAllowed',
      'spec.dataset',
    ],
    [
      'a prefix look-alike',
      { dataset: 's3://fer-data/acme-evil/x', ...ok },
      tenant,
      403,
      'DatasetNotAllowed',
      'spec.dataset',
    ],
    [
      'system-node-critical',
      { resources: { priorityClassName: 'system-node-critical' } },
      cluster,
      403,
      'PriorityClassNotAllowed',
      'spec.resources.priorityClassName',
    ],
    [
      'an unlisted priority class',
      { resources: { priorityClassName: 'high' }, ...ok },
      tenant,
      403,
      'PriorityClassNotAllowed',
      'spec.resources.priorityClassName',
    ],
    [
      'tolerate-all',
      { resources: { tolerations: [{ operator: 'Exists' }] } },
      cluster,
      403,
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ],
    [
      'control-plane tolerations',
      { resources: { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] } },
      cluster,
      403,
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ],
    [
      'an unlisted toleration',
      { resources: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'beta' }] }, ...ok },
      tenant,
      403,
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ],
    [
      'a control-plane nodeSelector',
      { resources: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } } },
      cluster,
      403,
      'NodeSelectorNotAllowed',
      'spec.resources.nodeSelector.node-role.kubernetes.io/control-plane',
    ],
    [
      'an unlisted node label value',
      { resources: { nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb' } }, ...ok },
      tenant,
      403,
      'NodeSelectorNotAllowed',
      'spec.resources.nodeSelector.cloud.google.com/gke-accelerator',
    ],
    [
      '999999 CPUs',
      { resources: { cpu: '999999' }, ...ok },
      tenant,
      403,
      'ResourceLimitExceeded',
      'spec.resources.cpu',
    ],
    [
      '9000m over 8 CPUs',
      { resources: { cpu: '9000m' }, ...ok },
      tenant,
      403,
      'ResourceLimitExceeded',
      'spec.resources.cpu',
    ],
    [
      '33Gi over 32Gi',
      { resources: { memory: '33Gi' }, ...ok },
      tenant,
      403,
      'ResourceLimitExceeded',
      'spec.resources.memory',
    ],
    ['3 GPUs over 2', { resources: { gpu: 3 }, ...ok }, tenant, 403, 'ResourceLimitExceeded', 'spec.resources.gpu'],
    ['no queue when queues are set', {}, tenant, 403, 'QueueNotAllowed', 'spec.queueName'],
    ["another tenant's queue", { queueName: 'beta-queue' }, tenant, 403, 'QueueNotAllowed', 'spec.queueName'],
    ['parallelism 9 over 8', { parallelism: 9, ...ok }, tenant, 403, 'ParallelismLimitExceeded', 'spec.parallelism'],
    [
      '51 trials over 50',
      { search: { method: 'grid', parameters: { seed: Array.from({ length: 51 }, (_, i) => i) } }, ...ok },
      tenant,
      403,
      'TrialLimitExceeded',
      'spec.search',
    ],
  ] as const)('refuses %s', (_what, over, ctx, status, code, field) => {
    expect(refusal(spec(over as Record<string, unknown>), ctx)).toMatchObject({ status, code, field });
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/iam', 'BlockedAddress'],
    ['http://[fe80::1]/x.h5', 'BlockedAddress'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'BlockedAddress'],
    ['http://127.0.0.1:8080/v1/sweeps', 'BlockedAddress'],
    ['http://[::ffff:169.254.169.254]/', 'BlockedAddress'],
    ['http://localhost/x.h5', 'BlockedAddress'],
    ['file:///etc/shadow', 'UrlNotAllowed'],
  ])('refuses the param URL %s', (url, code) => {
    expect(refusal(spec({}, { pretrained: url }), cluster)).toMatchObject({
      code,
      field: 'spec.variants[0].params.pretrained',
      rule: 'urls',
    });
    const searched = spec({ search: { method: 'grid', parameters: { pretrained: ['imagenet', url] } } });
    expect(refusal(searched, cluster)).toMatchObject({ code, field: 'spec.search.parameters.pretrained[1]' });
  });

  it('lets ordinary https weights and allowed tolerations through', () => {
    expect(refusal(spec({}, { pretrained: 'https://storage.googleapis.com/keras/x.h5' }), cluster)).toBeUndefined();
    const gpu = { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] };
    expect(refusal(spec({ resources: gpu, ...ok }), tenant)).toBeUndefined();
    expect(isBlockedHost('10.0.0.1')).toBe(false);
    expect(isBlockedHost('169.254.0.1')).toBe(true);
  });

  it('drops a __proto__ node label at the schema: nothing reaches the Job, no prototype changes', () => {
    const s = spec({ resources: { nodeSelector: JSON.parse('{"__proto__":{"polluted":"1"},"a":"b"}') as object } });
    expect(Object.keys(s.spec.resources.nodeSelector)).toEqual(['a']);
    expect(Object.getPrototypeOf(s.spec.resources.nodeSelector)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("merges a tenant's fields over the cluster defaults, and parses quantities", () => {
    const merged = mergePolicy(Policy.parse({ maxGpu: 1, maxCpu: '4' }), Policy.parse({ maxGpu: 4 }));
    expect(merged).toEqual({ maxGpu: 4, maxCpu: '4' });
    expect([parseQuantity('500m'), parseQuantity('16Gi'), parseQuantity('1.5'), parseQuantity(2)]).toEqual([
      0.5,
      16 * 2 ** 30,
      1.5,
      2,
    ]);
  });
});
