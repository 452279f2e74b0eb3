/**
 * The HTTP face of the fake API server: URL routing as kube-apiserver lays it out, list
 * responses with `metadata.resourceVersion`, watch streams (`?watch=true`, chunked, one JSON
 * event per line, BOOKMARKs, 410 Expired as an ERROR event), `pods/{name}/log`, discovery, and
 * errors as metav1.Status bodies. Also records requests and injects faults for tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiServer } from './api.js';
import {
  JSON_TYPE,
  batchGroup,
  deleteOptions,
  mediaType,
  namespaceObject,
  parseDryRun,
  parseRoute,
  readJson,
  verbOf,
  type Route,
} from './http-request.js';
import { servePodLog } from './http-pod-log.js';
import { WatchHub } from './http-watch.js';
import type { Kubelet } from './kubelet.js';
import { RESOURCES, apiResourceList, fieldsOf, supportedFields } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  KubeApiError,
  alreadyExists,
  badRequest,
  conflict,
  methodNotAllowed,
  noSuchPath,
  notFound,
  reasonForCode,
  type StatusReason,
} from './status.js';
import type { JsonObject, KubeObject, ResourceName } from './types.js';

/** API verbs, as in RBAC and audit logs. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** An error to answer to the next matching request(s). */
export interface FaultSpec {
  /** Verb(s) to fail; any when omitted. */
  verb?: Verb | Verb[];
  /** `jobs`, `pods`, `jobs/status`, `pods/log`, …; any when omitted. */
  resource?: string;
  /** Only requests for this object name. */
  name?: string;
  /** Only requests in this namespace. */
  namespace?: string;
  /** HTTP status to answer (e.g. 500, 503, 429, 409, 404). */
  code: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Status reason (default: the server's reason for `code`). */
  reason?: StatusReason;
  /** Status message (default: what the server would say). */
  message?: string;
  /** For 429/503: Retry-After seconds (default 1). */
  retryAfterSeconds?: number;
  /**
   * `before` (default): answer the error instead of doing the request. `after`: do the request,
   * then answer the error (a lost response: the client does not know it succeeded).
   */
  when?: 'before' | 'after';
}

/** One request as the server saw it. */
export interface RecordedRequest {
  time: string;
  method: string;
  path: string;
  query: Record<string, string>;
  verb?: Verb;
  resource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status answered (for watches: when the stream ended). */
  code: number;
  userAgent?: string;
}

/** Options of the HTTP layer. */
export interface HttpOptions {
  /** Bearer token clients must present; any (or none) when undefined. */
  token?: string;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK (the real server: ~1 min). */
  bookmarkIntervalMs: number;
  /** What `GET /version` reports. */
  kubernetesVersion: { major: string; minor: string; gitVersion: string };
}

/** The HTTP request handler plus its watches, fault queue and request log. */
export class HttpFrontend {
  private readonly watches: WatchHub;
  private readonly faults: Array<FaultSpec & { remaining: number }> = [];
  private readonly log: RecordedRequest[] = [];
  private readonly logFollowers = new Set<ServerResponse>();
  private readonly bookmarkTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly api: ApiServer,
    private readonly kubelet: Kubelet | undefined,
    private readonly options: HttpOptions,
  ) {
    this.watches = new WatchHub(api.store);
    this.unsubscribe = api.store.onChange((e) => this.watches.broadcast(e));
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  /** Requests seen so far (oldest first). */
  requests(): readonly RecordedRequest[] {
    return this.log;
  }

  /** Queues an injected error. */
  failNext(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** Open watch streams. */
  watchCount(): number {
    return this.watches.count();
  }

  /**
   * Ends every watch stream: `end` closes them cleanly (the client sees the watch end and
   * re-watches), `reset` destroys the sockets (the client sees an error).
   */
  dropWatches(mode: 'end' | 'reset' = 'end'): number {
    return this.watches.drop(mode);
  }

  /** Sends a BOOKMARK now to every watch that allows them. */
  sendBookmarks(): void {
    this.watches.sendBookmarks();
  }

  /** Stops timers and ends every stream. */
  close(): void {
    clearInterval(this.bookmarkTimer);
    this.unsubscribe();
    this.dropWatches('end');
    for (const r of this.logFollowers) r.end();
    this.logFollowers.clear();
  }

  /** node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://kube-fake');
    const record: RecordedRequest = {
      time: new Date().toISOString(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      code: 0,
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
    };
    this.log.push(record);
    res.on('close', () => {
      record.code ||= res.statusCode;
    });
    res.setHeader('Audit-Id', randomUUID());
    res.setHeader('Cache-Control', 'no-cache, private');
    this.dispatch(req, res, url, record).catch((err: unknown) => this.fail(res, err, record));
  }

  private fail(res: ServerResponse, err: unknown, record: RecordedRequest): void {
    const e =
      err instanceof KubeApiError
        ? err
        : new KubeApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`, {
            causes: [{ message: String(err) }],
          });
    record.code = e.code;
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    this.json(res, e.code, e.toStatus());
  }

  private json(res: ServerResponse, code: number, body: unknown, pretty = false): void {
    const text = JSON.stringify(body, null, pretty ? 2 : undefined);
    res.writeHead(code, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): Promise<void> {
    if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`)
      throw new KubeApiError(401, 'Unauthorized', 'Unauthorized');
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const pretty = q.get('pretty') === 'true';
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const special = this.special(segs);
    if (special !== undefined) {
      if (method !== 'GET') throw methodNotAllowed();
      if (typeof special === 'string') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(special);
      } else this.json(res, 200, special, pretty);
      return;
    }
    const route = parseRoute(segs);
    if (!route) throw noSuchPath();
    const isWatch = route.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = verbOf(method, route, isWatch);
    if (!verb) throw methodNotAllowed();
    Object.assign(record, {
      verb,
      resource: route.subresource ? `${route.resource}/${route.subresource}` : route.resource,
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(route.name ? { name: route.name } : {}),
    });
    const fault = this.takeFault(verb, route);
    if (fault && fault.when !== 'after') throw this.faultError(fault, verb, route);
    const dryRun = parseDryRun(q.get('dryRun'));
    const { resource, namespace, name, subresource } = route;
    const ns = namespace ?? '';

    if (verb === 'watch') {
      if (subresource || name) throw noSuchPath();
      this.watches.watch(req, res, route, q);
      return;
    }
    if (subresource === 'log') {
      if (resource !== 'pods' || verb !== 'get' || !name) throw noSuchPath();
      await servePodLog(this.api, this.kubelet, this.logFollowers, req, res, ns, name, q);
      return;
    }
    if (subresource && !RESOURCES[resource].subresources.includes(subresource)) throw noSuchPath();
    if (subresource && verb !== 'get' && verb !== 'update' && verb !== 'patch') throw methodNotAllowed();
    if (!namespace && verb !== 'list') throw noSuchPath();

    let code = 200;
    let body: unknown;
    const warnings: string[] = [];
    switch (verb) {
      case 'get':
        body = this.api.get(resource, ns, name ?? '');
        break;
      case 'list':
        body = this.list(resource, namespace, q);
        break;
      case 'create':
        body = this.api.create(resource, ns, await readJson(req, ['application/json']), { dryRun });
        code = 201;
        break;
      case 'update':
        body = this.api.update(resource, ns, name ?? '', await readJson(req, ['application/json']), {
          dryRun,
          ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
        });
        break;
      case 'patch': {
        const type = mediaType(req.headers['content-type']);
        body = this.api.patch(resource, ns, name ?? '', type, await readJson(req, undefined), {
          dryRun,
          ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
        });
        break;
      }
      case 'delete': {
        const opts = await deleteOptions(req, q);
        const r = this.api.delete(resource, ns, name ?? '', { ...opts, dryRun: dryRun || opts.dryRun === true });
        body = r.body;
        code = r.code;
        warnings.push(...r.warnings);
        break;
      }
      case 'deletecollection': {
        const opts = await deleteOptions(req, q);
        const list = this.list(resource, namespace, q);
        const items: unknown[] = [];
        for (const item of list.items as KubeObject[]) {
          const r = this.api.delete(resource, item.metadata.namespace ?? ns, item.metadata.name ?? '', {
            ...opts,
            dryRun,
          });
          items.push(r.body);
          warnings.push(...r.warnings);
        }
        body = { ...list, items };
        break;
      }
    }
    if (fault) throw this.faultError(fault, verb, route);
    if (warnings.length > 0)
      res.setHeader(
        'Warning',
        [...new Set(warnings)].map((w) => `299 - ${JSON.stringify(w)}`),
      );
    this.json(res, code, body, pretty);
  }

  /** Discovery, version and health endpoints. */
  private special(segs: string[]): unknown {
    const path = `/${segs.join('/')}`;
    switch (path) {
      case '/api':
        return {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
        };
      case '/api/v1':
        return apiResourceList('v1');
      case '/apis':
        return { kind: 'APIGroupList', apiVersion: 'v1', groups: [batchGroup()] };
      case '/apis/batch':
        return { kind: 'APIGroup', apiVersion: 'v1', ...batchGroup() };
      case '/apis/batch/v1':
        return apiResourceList('batch/v1');
      case '/version':
        return {
          ...this.options.kubernetesVersion,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2024-08-13T00:00:00Z',
          goVersion: 'go1.22.5',
          compiler: 'gc',
          platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
        };
      case '/healthz':
      case '/livez':
      case '/readyz':
        return 'ok';
      case '/api/v1/namespaces':
        return {
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(this.api.store.resourceVersion) },
          items: this.api.store.knownNamespaces().map((n) => namespaceObject(n, false)),
        };
    }
    if (segs.length === 4 && segs[0] === 'api' && segs[1] === 'v1' && segs[2] === 'namespaces')
      return namespaceObject(segs[3] ?? '', true);
    return undefined;
  }

  private takeFault(verb: Verb, route: Route): (FaultSpec & { remaining: number }) | undefined {
    const resource = route.subresource ? `${route.resource}/${route.subresource}` : route.resource;
    const i = this.faults.findIndex((f) => {
      const verbs = f.verb === undefined ? undefined : Array.isArray(f.verb) ? f.verb : [f.verb];
      return (
        (!verbs || verbs.includes(verb)) &&
        (f.resource === undefined || f.resource === resource) &&
        (f.name === undefined || f.name === route.name) &&
        (f.namespace === undefined || f.namespace === route.namespace)
      );
    });
    if (i < 0) return undefined;
    const f = this.faults[i];
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }

  private faultError(f: FaultSpec, verb: Verb, route: Route): KubeApiError {
    const gr = { group: RESOURCES[route.resource].group, resource: route.resource };
    const name = route.name ?? '';
    const reason = f.reason ?? (f.code === 409 && verb === 'create' ? 'AlreadyExists' : reasonForCode(f.code));
    const headers: Record<string, string> = {};
    let message = f.message;
    let details: ConstructorParameters<typeof KubeApiError>[3];
    if (reason === 'NotFound' && !message) return notFound(gr, name);
    if (reason === 'AlreadyExists' && !message) return alreadyExists(gr, name);
    if (reason === 'Conflict' && !message)
      return conflict(
        gr,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    if (f.code === 429 || f.code === 503) {
      const after = f.retryAfterSeconds ?? 1;
      headers['Retry-After'] = String(after);
      details = { retryAfterSeconds: after };
      message ??=
        f.code === 429
          ? 'Too many requests, please try again later.'
          : 'the server is currently unable to handle the request';
    }
    message ??= f.code >= 500 ? 'Internal error occurred: kube-fake: injected fault' : `kube-fake: injected ${f.code}`;
    return new KubeApiError(f.code, reason, message, details, headers);
  }

  /** A list response (`<Kind>List` with metadata.resourceVersion; items without TypeMeta). */
  private list(resource: ResourceName, namespace: string | undefined, q: URLSearchParams): JsonObject {
    const labels = parseLabelSelector(q.get('labelSelector') ?? '');
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '', supportedFields(resource));
    const rv = this.api.store.resourceVersion;
    let items = this.api.store
      .list(resource, namespace)
      .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, fieldsOf(resource, o)));
    const metadata: JsonObject = { resourceVersion: String(rv) };
    const cont = q.get('continue');
    if (cont) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: number; start: string };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (token.rv < this.api.store.oldestResourceVersion)
        throw new KubeApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}` > token.start);
    }
    const limit = Number(q.get('limit') ?? '0');
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      metadata.continue = Buffer.from(
        JSON.stringify({ rv, start: `${last?.metadata.namespace ?? ''}/${last?.metadata.name ?? ''}` }),
      ).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    const info = RESOURCES[resource];
    return {
      kind: info.listKind,
      apiVersion: info.apiVersion,
      metadata,
      items: items.map((o) => {
        const { apiVersion: _a, kind: _k, ...rest } = o;
        return rest;
      }),
    };
  }
}
