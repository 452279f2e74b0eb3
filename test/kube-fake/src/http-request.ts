/** Request parsing of the fake API server: routes as kube-apiserver lays them out, verbs, bodies, options. */
import type { IncomingMessage } from 'node:http';
import type { DeleteOptions, PropagationPolicy } from './api.js';
import type { Verb } from './http.js';
import { RESOURCES } from './resources.js';
import { KubeApiError, badRequest } from './status.js';
import type { ResourceName } from './types.js';
import { isObject } from './types.js';

export interface Route {
  resource: ResourceName;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

export const MAX_BODY = 3 * 1024 * 1024;
export const JSON_TYPE = 'application/json';

export function batchGroup() {
  return {
    name: 'batch',
    versions: [{ groupVersion: 'batch/v1', version: 'v1' }],
    preferredVersion: { groupVersion: 'batch/v1', version: 'v1' },
  };
}

export function namespaceObject(name: string, withType: boolean) {
  const ns = {
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  return withType ? { kind: 'Namespace', apiVersion: 'v1', ...ns } : ns;
}

/** Maps a URL path to a resource route (or undefined when it names none of ours). */
export function parseRoute(segs: string[]): Route | undefined {
  let rest: string[];
  let group: '' | 'batch';
  if (segs[0] === 'api' && segs[1] === 'v1') {
    group = '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs[1] === 'batch' && segs[2] === 'v1') {
    group = 'batch';
    rest = segs.slice(3);
  } else return undefined;
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0 || !(resource in RESOURCES)) return undefined;
  const info = RESOURCES[resource as ResourceName];
  if (info.group !== group) return undefined;
  return {
    resource: resource as ResourceName,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
    legacyWatch,
  };
}

export function verbOf(method: string, route: Route, isWatch: boolean): Verb | undefined {
  const item = route.name !== undefined;
  switch (method) {
    case 'GET':
      return isWatch ? 'watch' : item ? 'get' : 'list';
    case 'POST':
      return item ? undefined : 'create';
    case 'PUT':
      return item ? 'update' : undefined;
    case 'PATCH':
      return item ? 'patch' : undefined;
    case 'DELETE':
      return item ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

export function parseDryRun(v: string | null): boolean {
  if (v === null || v === '') return false;
  if (v !== 'All')
    throw badRequest(`Invalid dryRun parameter: dryRun: Unsupported value: "${v}": supported values: "All"`);
  return true;
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY)
      throw new KubeApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY}`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON body; `accepted` restricts the Content-Type (missing counts as JSON). */
export async function readJson(req: IncomingMessage, accepted: string[] | undefined): Promise<unknown> {
  const type = mediaType(req.headers['content-type']);
  if (accepted && type && !accepted.includes(type))
    throw new KubeApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (kube-fake accepts JSON only)`,
    );
  const text = await readBody(req);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

export async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const opts: DeleteOptions = {};
  const pp = q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as PropagationPolicy;
  const grace = q.get('gracePeriodSeconds');
  if (grace !== null && grace !== '') opts.gracePeriodSeconds = Number(grace);
  const orphan = q.get('orphanDependents');
  if (orphan !== null) opts.orphanDependents = orphan === 'true';
  const text = await readBody(req);
  if (text.trim() === '') return opts;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't decode DeleteOptions: ${(err as Error).message}`);
  }
  if (!isObject(body)) return opts;
  if (typeof body.propagationPolicy === 'string') opts.propagationPolicy = body.propagationPolicy as PropagationPolicy;
  if (typeof body.gracePeriodSeconds === 'number') opts.gracePeriodSeconds = body.gracePeriodSeconds;
  if (typeof body.orphanDependents === 'boolean') opts.orphanDependents = body.orphanDependents;
  if (Array.isArray(body.dryRun) && body.dryRun.includes('All')) opts.dryRun = true;
  if (isObject(body.preconditions)) {
    const p = body.preconditions;
    opts.preconditions = {
      ...(typeof p.uid === 'string' ? { uid: p.uid } : {}),
      ...(typeof p.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
    };
  }
  return opts;
}
