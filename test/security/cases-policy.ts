/**
 * The hostile requests about what a sweep may ask for and whose it is: URLs, scheduling policy,
 * property names, other tenants' sweeps (see cases.ts).
 */
import fc from 'fast-check';
import { json, post, sample, submit, type Case } from './builders.js';
import { acmeSpec, TOKENS, type Probe } from './harness.js';

/** Dataset and param URLs: schemes, other tenants' prefixes, path tricks, metadata addresses. */
export function urlCases(): Case[] {
  const dataset = (d: string, status: number, code: string): Case => [
    `dataset ${d.slice(0, 60)}`,
    submit(acmeSpec('url', { dataset: d }), status, code, 'spec.dataset'),
  ];
  const weights = (u: string, code: string, status = 422): Case => [
    `pretrained ${u.slice(0, 60)}`,
    submit(
      {
        ...acmeSpec('url'),
        spec: { ...acmeSpec('url').spec, variants: [{ name: 'm', model: 'mobilenetv2', params: { pretrained: u } }] },
      },
      status,
      code,
      'spec.variants[0].params.pretrained',
    ),
  ];
  const cases: Case[] = [
    dataset('file:///etc', 403, 'DatasetNotAllowed'),
    dataset('/etc/passwd', 403, 'DatasetNotAllowed'),
    dataset('relative/path', 403, 'DatasetNotAllowed'),
    dataset('http://169.254.169.254/latest/meta-data/', 422, 'UnsupportedUrlScheme'),
    dataset('https://example.com/fer', 422, 'UnsupportedUrlScheme'),
    dataset('gs://fer-data/acme/x', 422, 'UnsupportedUrlScheme'),
    dataset('ftp://fer-data/acme/x', 422, 'UnsupportedUrlScheme'),
    dataset('javascript://alert(1)', 422, 'UnsupportedUrlScheme'),
    dataset('s3://fer-data/beta/fer2013', 403, 'DatasetNotAllowed'),
    dataset('s3://fer-data/acme-evil/x', 403, 'DatasetNotAllowed'),
    dataset('s3://other-bucket/acme/x', 403, 'DatasetNotAllowed'),
    dataset('s3://fer-data/acme/../beta/x', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme/./x', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme/%2e%2e/beta', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme/%2F..%2Fbeta', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme\\..\\beta', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme/x\u0000', 422, 'InvalidUrl'),
    dataset('s3://fer-data/acme/x\n', 422, 'InvalidUrl'),
    dataset('S3://fer-data/beta/x', 403, 'DatasetNotAllowed'),
    weights('http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'BlockedAddress'),
    weights('http://2852039166/', 'BlockedAddress'),
    weights('http://0xa9.0xfe.0xa9.0xfe/', 'BlockedAddress'),
    weights('http://[::ffff:169.254.169.254]/', 'BlockedAddress'),
    weights('http://[fe80::1]/', 'BlockedAddress'),
    weights('http://[fe80::1%25eth0]/', 'InvalidUrl'), // a zone id is no valid URL host
    weights('http://metadata.google.internal/computeMetadata/v1/', 'BlockedAddress'),
    weights('http://127.0.0.1:8080/v1/sweeps', 'BlockedAddress'),
    weights('http://localhost/x.h5', 'BlockedAddress'),
    weights('http://[::1]/x.h5', 'BlockedAddress'),
    weights('http://0.0.0.0/x.h5', 'BlockedAddress'),
    weights('file:///etc/shadow', 'UrlNotAllowed', 403),
  ];
  const link = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
  for (const [c, d] of sample(link, 56, 10)) cases.push(weights(`http://169.254.${c}.${d}/x.h5`, 'BlockedAddress'));
  return cases;
}

/** Scheduling policy: priority classes, queues, tolerations, node selectors, trial counts. */
export function policyCases(): Case[] {
  const res = (r: Record<string, unknown>) => ({ resources: { gpu: 0, cpu: '1', memory: '1Gi', ...r } });
  const c = (what: string, over: Record<string, unknown>, code: string, field: string): Case => [
    `policy: ${what}`,
    submit(acmeSpec('policy', over), 403, code, field),
  ];
  return [
    c(
      'system-node-critical',
      res({ priorityClassName: 'system-node-critical' }),
      'PriorityClassNotAllowed',
      'spec.resources.priorityClassName',
    ),
    c(
      'system-cluster-critical',
      res({ priorityClassName: 'system-cluster-critical' }),
      'PriorityClassNotAllowed',
      'spec.resources.priorityClassName',
    ),
    c(
      'an unlisted priority class',
      res({ priorityClassName: 'high' }),
      'PriorityClassNotAllowed',
      'spec.resources.priorityClassName',
    ),
    c('no queue', { queueName: undefined }, 'QueueNotAllowed', 'spec.queueName'),
    c("beta's queue", { queueName: 'beta-queue' }, 'QueueNotAllowed', 'spec.queueName'),
    c(
      'tolerate everything',
      res({ tolerations: [{ operator: 'Exists' }] }),
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ),
    c(
      'control-plane taint',
      res({
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
      }),
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ),
    c(
      'the gpu toleration with NoExecute',
      res({ tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoExecute' }] }),
      'TolerationNotAllowed',
      'spec.resources.tolerations[0]',
    ),
    c(
      'a control-plane nodeSelector',
      res({ nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } }),
      'NodeSelectorNotAllowed',
      'spec.resources.nodeSelector.node-role.kubernetes.io/control-plane',
    ),
    c(
      'an H100 nodeSelector',
      res({ nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100' } }),
      'NodeSelectorNotAllowed',
      'spec.resources.nodeSelector.nvidia.com/gpu.product',
    ),
    c(
      'a hostname nodeSelector',
      res({ nodeSelector: { 'kubernetes.io/hostname': 'node-1' } }),
      'NodeSelectorNotAllowed',
      'spec.resources.nodeSelector.kubernetes.io/hostname',
    ),
    c(
      '21 trials over 20',
      { search: { method: 'grid', parameters: { seed: Array.from({ length: 21 }, (_, i) => i) } } },
      'TrialLimitExceeded',
      'spec.search',
    ),
    [
      'policy: 101 trials over the cluster maximum',
      submit(
        acmeSpec('policy', {
          search: { method: 'grid', parameters: { seed: Array.from({ length: 101 }, (_, i) => i) } },
        }),
        422,
        'TooManyTrials',
        'spec.search',
      ),
    ],
  ];
}

/** Property-name tricks: __proto__, constructor and prototype wherever a key can go. */
export function propertyCases(): Case[] {
  const base = json(acmeSpec('proto'));
  const inject = (where: string, key: string) =>
    base.replace(where, `${where}"${key}":{"polluted":"yes"},`).replace(',}', '}');
  const out: Case[] = [];
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    out.push([
      `${key} at the top`,
      { ...post(`{"${key}":{"polluted":"yes"},${base.slice(1)}`), status: 422, code: 'InvalidSpec' },
    ]);
    out.push([`${key} in metadata`, { ...post(inject('"metadata":{', key)), status: 422, code: 'InvalidSpec' }]);
    out.push([`${key} in spec`, { ...post(inject('"spec":{', key)), status: 422, code: 'InvalidSpec' }]);
    out.push([
      `${key} in params`,
      {
        ...post(base.replace('"params":{}', `"params":{"${key}":{"polluted":"yes"}}`)),
        status: 422,
        code: 'InvalidSpec',
      },
    ]);
    out.push([
      `${key} as a search parameter`,
      submit(acmeSpec('proto', { search: { method: 'grid', parameters: { [key]: [1, 2] } } }), 422, 'InvalidSpec'),
    ]);
  }
  return out;
}

/** Another tenant's sweep, on every route of both servers: the 404 of a sweep that does not exist. */
export function crossTenantCases(): Case[] {
  const routes: [Probe['target'], string, string, string][] = [
    ['coordinator', 'GET', '/v1/sweeps/acme-secret', 'NotFound'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret--acme', 'NotFound'],
    ['coordinator', 'DELETE', '/v1/sweeps/acme-secret', 'NotFound'],
    ['coordinator', 'DELETE', '/v1/sweeps/acme-secret--acme', 'NotFound'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret/report', 'NotFound'],
    ['coordinator', 'GET', '/v1/sweeps/acme-secret/trials/cnn/logs', 'NotFound'],
    ['coordinator', 'GET', '/sweeps/acme-secret', 'NotFound'],
    ['evaluator', 'GET', '/v1/sweeps/acme-secret/report', 'SweepNotFound'],
    ['evaluator', 'GET', '/v1/sweeps/acme-secret--acme/report', 'SweepNotFound'],
    ['evaluator', 'POST', '/v1/sweeps/acme-secret/finalize', 'SweepNotFound'],
    ['evaluator', 'POST', '/v1/sweeps/acme-secret--acme/finalize', 'SweepNotFound'],
    ['evaluator', 'GET', '/sweeps/acme-secret', 'SweepNotFound'],
  ];
  return routes.map(([target, method, path, code]) => [
    `cross-tenant: beta ${target} ${method} ${path}`,
    { target, method, path, token: TOKENS.beta, status: 404, code },
  ]);
}
