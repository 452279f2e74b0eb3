/**
 * Watch streams of the fake API server (`?watch=true`): chunked, one JSON event per line, replay
 * from a resourceVersion or the initial list, selector transitions as ADDED/DELETED, BOOKMARKs, and
 * 410 Expired as an ERROR event.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSON_TYPE, type Route } from './http-request.js';
import { RESOURCES, fieldsOf, supportedFields } from './resources.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  type FieldRequirement,
  type LabelRequirement,
} from './selectors.js';
import { badRequest, failureStatus } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';
import type { KubeObject, ResourceName, WatchEventType } from './types.js';

interface Watcher {
  resource: ResourceName;
  namespace?: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  bookmarks: boolean;
  res: ServerResponse;
  req: IncomingMessage;
  close: () => void;
}

/** The open watch streams and what feeds them. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly store: ObjectStore) {}

  /** Open watch streams. */
  count(): number {
    return this.watchers.size;
  }

  /** Ends every stream: `end` cleanly, `reset` by destroying the sockets. */
  drop(mode: 'end' | 'reset'): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      if (mode === 'reset') w.req.socket.destroy();
      else w.close();
    }
    return n;
  }

  /** Sends a BOOKMARK now to every watch that allows them. */
  sendBookmarks(): void {
    const rv = String(this.store.resourceVersion);
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const info = RESOURCES[w.resource];
      this.send(w, 'BOOKMARK', { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: rv } });
    }
  }

  send(w: Watcher, type: WatchEventType, object: unknown): void {
    if (w.res.writableEnded || w.res.destroyed) return;
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private matches(w: Watcher, obj: KubeObject): boolean {
    return (
      (w.namespace === undefined || obj.metadata.namespace === w.namespace) &&
      matchesLabels(w.labels, obj.metadata.labels) &&
      matchesFields(w.fields, fieldsOf(w.resource, obj))
    );
  }

  /** Delivers one store change to a watcher, turning selector transitions into ADDED/DELETED. */
  private deliver(w: Watcher, e: StoreEvent): void {
    if (e.resource !== w.resource) return;
    const now = this.matches(w, e.object);
    if (e.type === 'MODIFIED' && e.previous) {
      const before = this.matches(w, e.previous);
      if (before && now) this.send(w, 'MODIFIED', e.object);
      else if (before) this.send(w, 'DELETED', e.object);
      else if (now) this.send(w, 'ADDED', e.object);
      return;
    }
    if (now) this.send(w, e.type, e.object);
  }

  broadcast(e: StoreEvent): void {
    for (const w of this.watchers) this.deliver(w, e);
  }

  watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const labels = parseLabelSelector(q.get('labelSelector') ?? '');
    const fields = parseFieldSelector(q.get('fieldSelector') ?? '', supportedFields(route.resource));
    const rvParam = q.get('resourceVersion') ?? '';
    const sendInitialEvents = q.get('sendInitialEvents') === 'true';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let timeout: NodeJS.Timeout | undefined;
    const w: Watcher = {
      resource: route.resource,
      ...(route.namespace ? { namespace: route.namespace } : {}),
      labels,
      fields,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      res,
      req,
      close: () => {
        if (timeout) clearTimeout(timeout);
        this.watchers.delete(w);
        if (!res.writableEnded) res.end();
      },
    };
    // Replay (synchronously, so that nothing can happen in between) then subscribe.
    const store = this.store;
    if (rvParam === '' || rvParam === '0' || sendInitialEvents) {
      for (const o of store.list(route.resource, route.namespace)) if (this.matches(w, o)) this.send(w, 'ADDED', o);
      if (sendInitialEvents) {
        const info = RESOURCES[route.resource];
        this.send(w, 'BOOKMARK', {
          kind: info.kind,
          apiVersion: info.apiVersion,
          metadata: {
            resourceVersion: String(store.resourceVersion),
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        });
      }
    } else {
      const changes = store.changesSince(Number(rvParam));
      if (changes === 'expired') {
        this.send(
          w,
          'ERROR',
          failureStatus(410, 'Expired', `too old resource version: ${rvParam} (${store.oldestResourceVersion})`),
        );
        res.end();
        return;
      }
      for (const e of changes) this.deliver(w, e);
    }
    this.watchers.add(w);
    if (timeoutSeconds > 0) timeout = setTimeout(() => w.close(), timeoutSeconds * 1000);
    res.on('close', () => {
      if (timeout) clearTimeout(timeout);
      this.watchers.delete(w);
    });
  }
}
