/**
 * What a sweep may ask for (issue 12, item 3): the dataset it reads, where and with which priority
 * its trials run, how large they are. Checked at submission, before anything is stored or started;
 * a violation is 403 (allowed by the deployment, not for this tenant) or 422 (never allowed: a URL
 * that is malformed or points at a link-local/metadata address), problem+json naming the field and
 * the rule, with a stable code.
 *
 * A tenant's policy overrides the cluster defaults (Helm `policy`) field by field; a field absent
 * from both leaves that dimension open — except the baseline, which always holds: datasets are read
 * from s3:// (file:// only in embedded mode, where the caller owns the machine), http(s) URLs in
 * params never reach link-local, loopback or cloud metadata addresses, and the `system-*` priority
 * classes, tolerate-everything tolerations and control-plane nodes stay out of reach unless a policy
 * allow-list names them.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { countTrials, ResourcesSpec, type SweepSpec } from '@fersweep/contracts';
import { parseQuantity } from './quantity.js';

const Quantity = ResourcesSpec.shape.cpu.unwrap();
const Toleration = ResourcesSpec.shape.tolerations.unwrap().element;

export const Policy = z
  .object({
    /** Allowed dataset URL prefixes, e.g. `s3://fer-data/acme/` (scheme, bucket, key prefix). */
    datasets: z.array(z.string().min(1)).optional(),
    /** Allowed `resources.priorityClassName` values. */
    priorityClasses: z.array(z.string().min(1)).optional(),
    /** Allowed Kueue LocalQueues (`spec.queueName`); when set, a sweep must name one. */
    queues: z.array(z.string().min(1)).optional(),
    /** Tolerations a sweep may carry (each must equal one of these, tolerationSeconds aside). */
    tolerations: z.array(Toleration).optional(),
    /** Node labels a sweep may select on, with the values allowed for each. */
    nodeSelectors: z.record(z.string(), z.array(z.string())).optional(),
    maxCpu: Quantity.optional(),
    maxMemory: Quantity.optional(),
    maxGpu: z.number().int().min(0).optional(),
    maxTrials: z.number().int().min(1).optional(),
    maxParallelism: z.number().int().min(1).optional(),
  })
  .strict();
export type Policy = z.infer<typeof Policy>;

/** A submission the policy refuses. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly status: 403 | 422,
    readonly code: string,
    message: string,
    readonly field: string,
    readonly rule: string,
  ) {
    super(message);
  }
}

export interface AdmissionContext {
  tenant: string;
  /** Embedded mode (`fersweep run`, local launcher): file:// datasets are the caller's own files. */
  embedded: boolean;
  policy: Policy;
}

const SYSTEM_PRIORITY = /^system-/;
const CONTROL_PLANE = /^node-role\.kubernetes\.io\/(control-plane|master)$/;
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** True for hosts no trial may fetch from: loopback, link-local (cloud metadata), unspecified. */
export function isBlockedHost(hostname: string): boolean {
  const h = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || METADATA_HOSTS.has(h)) return true;
  const v = isIP(h);
  if (v === 4) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254) || (a === 100 && b === 100);
  }
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return isBlockedHost(mapped[1]!);
    // The WHATWG URL parser writes an IPv4-mapped address in hex (::ffff:a9fe:a9fe).
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
    if (hex) {
      const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
      return isBlockedHost(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return h === '::1' || h === '::' || /^fe[89ab]/.test(h) || h.startsWith('fd00:ec2');
  }
  return false;
}

function fail(status: 403 | 422, code: string, field: string, rule: string, message: string): never {
  throw new PolicyError(status, code, message, field, rule);
}

/** The dataset rule: a store URL fersweep reads, no path tricks, under an allowed prefix. */
function checkDataset(url: string, ctx: AdmissionContext): void {
  const field = 'spec.dataset';
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\\\u0000-\u001f\u007f]|%2e|%2f|%5c/i.test(url))
    fail(
      422,
      'InvalidUrl',
      field,
      'datasets',
      'the dataset URL holds a backslash, control character or encoded . or /',
    );
  const path = scheme ? url.slice(scheme.length + 3) : url;
  if (path.split('/').some((seg) => seg === '..' || seg === '.'))
    fail(422, 'InvalidUrl', field, 'datasets', "the dataset URL holds a '.' or '..' segment: give the folder itself");
  if (scheme !== undefined && scheme !== 's3' && scheme !== 'file')
    fail(
      422,
      'UnsupportedUrlScheme',
      field,
      'datasets',
      `datasets are read from s3:// (or file:// in embedded mode), not ${scheme}://`,
    );
  if (scheme !== 's3' && !ctx.embedded)
    fail(
      403,
      'DatasetNotAllowed',
      field,
      'datasets',
      'file:// datasets (and plain paths) are only allowed in embedded mode (fersweep run): use an s3:// URL',
    );
  const allowed = ctx.policy.datasets;
  if (!allowed) return;
  const ok = allowed.some((p) => url === p || (url.startsWith(p) && (p.endsWith('/') || url[p.length] === '/')));
  if (!ok)
    fail(
      403,
      'DatasetNotAllowed',
      field,
      'datasets',
      `tenant '${ctx.tenant}' may read datasets under ${allowed.join(', ') || '(none)'} only`,
    );
}

/** http(s) URLs in params (e.g. `pretrained`) are fetched by trainers: never from link-local or loopback. */
function checkParamUrl(value: unknown, field: string, ctx: AdmissionContext): void {
  if (typeof value !== 'string') return;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    let host: string;
    try {
      host = new URL(value).hostname;
    } catch {
      return fail(422, 'InvalidUrl', field, 'urls', `${field} is not a valid URL`);
    }
    if (isBlockedHost(host))
      fail(
        422,
        'BlockedAddress',
        field,
        'urls',
        `${field} points at ${host}: loopback, link-local and metadata addresses are refused`,
      );
  } else if (scheme === 'file' && !ctx.embedded) {
    fail(403, 'UrlNotAllowed', field, 'urls', `${field}: file:// URLs are only allowed in embedded mode`);
  }
}

function checkResources(spec: SweepSpec, ctx: AdmissionContext): void {
  const r = spec.spec.resources;
  const p = ctx.policy;
  const pc = r.priorityClassName;
  if (pc !== undefined) {
    const list = p.priorityClasses;
    if (list ? !list.includes(pc) : SYSTEM_PRIORITY.test(pc))
      fail(
        403,
        'PriorityClassNotAllowed',
        'spec.resources.priorityClassName',
        'priorityClasses',
        list
          ? `tenant '${ctx.tenant}' may use priority classes ${list.join(', ') || '(none)'} only`
          : `priority class '${pc}' is reserved for the cluster's own components`,
      );
  }
  const q = spec.spec.queueName;
  if (p.queues && (q === undefined || !p.queues.includes(q)))
    fail(
      403,
      'QueueNotAllowed',
      'spec.queueName',
      'queues',
      `tenant '${ctx.tenant}' submits to the Kueue LocalQueues ${p.queues.join(', ') || '(none)'}: set spec.queueName to one of them`,
    );
  r.tolerations.forEach((t, i) => {
    const field = `spec.resources.tolerations[${i}]`;
    const same = (a: typeof t) =>
      a.key === t.key &&
      (a.operator ?? 'Equal') === (t.operator ?? 'Equal') &&
      a.value === t.value &&
      a.effect === t.effect;
    if (p.tolerations) {
      if (!p.tolerations.some(same))
        fail(403, 'TolerationNotAllowed', field, 'tolerations', `tenant '${ctx.tenant}' may not carry this toleration`);
    } else if (t.key === undefined || CONTROL_PLANE.test(t.key)) {
      fail(
        403,
        'TolerationNotAllowed',
        field,
        'tolerations',
        'tolerating every taint or control-plane taints needs a policy that allows it',
      );
    }
  });
  for (const [k, v] of Object.entries(r.nodeSelector)) {
    const field = `spec.resources.nodeSelector.${k}`;
    const allowed = p.nodeSelectors;
    if (allowed ? !Object.hasOwn(allowed, k) || !allowed[k]!.includes(v) : CONTROL_PLANE.test(k))
      fail(
        403,
        'NodeSelectorNotAllowed',
        field,
        'nodeSelectors',
        allowed
          ? `tenant '${ctx.tenant}' may select nodes on ${Object.keys(allowed).join(', ') || '(no labels)'} with the listed values only`
          : 'trials never run on control-plane nodes',
      );
  }
  const limit = (field: string, rule: string, asked: number, max: number | undefined, shown: string) => {
    if (max !== undefined && asked > max)
      fail(403, 'ResourceLimitExceeded', field, rule, `${field} ${shown} is above tenant '${ctx.tenant}''s ${rule}`);
  };
  limit(
    'spec.resources.cpu',
    'maxCpu',
    parseQuantity(r.cpu),
    p.maxCpu !== undefined ? parseQuantity(p.maxCpu) : undefined,
    String(r.cpu),
  );
  limit(
    'spec.resources.memory',
    'maxMemory',
    parseQuantity(r.memory),
    p.maxMemory !== undefined ? parseQuantity(p.maxMemory) : undefined,
    String(r.memory),
  );
  limit('spec.resources.gpu', 'maxGpu', r.gpu, p.maxGpu, String(r.gpu));
}

/** Throws PolicyError for the first rule a (schema-valid) spec breaks. */
export function admit(spec: SweepSpec, ctx: AdmissionContext): void {
  checkDataset(spec.spec.dataset, ctx);
  spec.spec.variants.forEach((v, i) => {
    for (const [k, value] of Object.entries(v.params)) checkParamUrl(value, `spec.variants[${i}].params.${k}`, ctx);
  });
  for (const [k, values] of Object.entries(spec.spec.search?.parameters ?? {}))
    (Array.isArray(values) ? values : []).forEach((value, j) =>
      checkParamUrl(value, `spec.search.parameters.${k}[${j}]`, ctx),
    );
  checkResources(spec, ctx);
  const p = ctx.policy;
  if (p.maxParallelism !== undefined && spec.spec.parallelism > p.maxParallelism)
    fail(
      403,
      'ParallelismLimitExceeded',
      'spec.parallelism',
      'maxParallelism',
      `tenant '${ctx.tenant}' runs at most ${p.maxParallelism} trials of a sweep at once`,
    );
  if (p.maxTrials !== undefined) {
    const n = countTrials(spec);
    if (n > p.maxTrials)
      fail(
        403,
        'TrialLimitExceeded',
        'spec.search',
        'maxTrials',
        `the sweep expands to ${n} trials; tenant '${ctx.tenant}' may run ${p.maxTrials} per sweep`,
      );
  }
}

/** A tenant's policy: its own fields over the cluster defaults. */
export function mergePolicy(defaults: Policy, own: Policy | undefined): Policy {
  return { ...defaults, ...Object.fromEntries(Object.entries(own ?? {}).filter(([, v]) => v !== undefined)) };
}
