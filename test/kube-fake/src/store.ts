/**
 * The fake's etcd + watch cache: objects by resource and `namespace/name`, one global
 * resourceVersion counter, and a bounded history of changes from which watches resume. A watch
 * from a resourceVersion older than the history window is answered 410 Expired, as the real
 * watch cache does after compaction.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject, ResourceName } from './types.js';
import { clone, nowTime } from './types.js';

/** One change, as watches see it. `previous` is the object before a MODIFIED. */
export interface StoreEvent {
  rv: number;
  resource: ResourceName;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  previous?: KubeObject;
}

/** Options of {@link ObjectStore}. */
export interface StoreOptions {
  /** How many changes the watch history keeps (the real watch cache keeps ~100 per resource). */
  historySize: number;
  /**
   * Decides whether an object whose deletionTimestamp is set and whose finalizers are gone may
   * now be removed (pods wait for the kubelet to report them terminated).
   */
  canRemove?: (resource: ResourceName, obj: KubeObject) => boolean;
}

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

/** In-memory object store with resourceVersions and a watch history. */
export class ObjectStore {
  private rv = 0;
  /** Watches from a resourceVersion below this are expired. */
  private oldestWatchableRv = 0;
  private readonly objects = new Map<ResourceName, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly namespaces = new Set<string>(['default', 'kube-system', 'kube-public']);

  constructor(private readonly options: StoreOptions) {}

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Namespaces that hold or held objects, plus the built-in ones. */
  knownNamespaces(): string[] {
    return [...this.namespaces].sort();
  }

  private bucket(resource: ResourceName): Map<string, KubeObject> {
    let b = this.objects.get(resource);
    if (!b) {
      b = new Map();
      this.objects.set(resource, b);
    }
    return b;
  }

  /** A copy of one object. */
  get<T extends KubeObject = KubeObject>(resource: ResourceName, namespace: string, name: string): T | undefined {
    const o = this.bucket(resource).get(key(namespace, name));
    return o ? (clone(o) as T) : undefined;
  }

  /** Copies of all objects of a resource (in one namespace, or all), ordered by namespace/name. */
  list<T extends KubeObject = KubeObject>(resource: ResourceName, namespace?: string): T[] {
    const out: T[] = [];
    const entries = [...this.bucket(resource).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, o] of entries)
      if (namespace === undefined || o.metadata.namespace === namespace) out.push(clone(o) as T);
    return out;
  }

  /** Subscribes to every change; returns the unsubscribe function. */
  onChange(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(resource: ResourceName, type: StoreEvent['type'], object: KubeObject, previous?: KubeObject): void {
    const event: StoreEvent = { rv: this.rv, resource, type, object: clone(object) };
    if (previous) event.previous = clone(previous);
    this.history.push(event);
    while (this.history.length > this.options.historySize) {
      const dropped = this.history.shift();
      if (dropped) this.oldestWatchableRv = Math.max(this.oldestWatchableRv, dropped.rv);
    }
    for (const l of [...this.listeners]) l(event);
  }

  /**
   * Inserts a new object: assigns uid, creationTimestamp, resourceVersion (and generation 1 for
   * objects with a spec). The caller has checked that the name is free.
   */
  create<T extends KubeObject>(resource: ResourceName, input: T): T {
    const obj = clone(input);
    const meta = obj.metadata;
    this.rv++;
    meta.uid ??= randomUUID();
    meta.creationTimestamp = nowTime();
    meta.resourceVersion = String(this.rv);
    if ('spec' in obj && resource === 'jobs') meta.generation = 1;
    this.bucket(resource).set(key(meta.namespace, meta.name ?? ''), obj);
    if (meta.namespace) this.namespaces.add(meta.namespace);
    this.record(resource, 'ADDED', obj);
    return clone(obj);
  }

  /** Whether an object exists. */
  has(resource: ResourceName, namespace: string, name: string): boolean {
    return this.bucket(resource).has(key(namespace, name));
  }

  /**
   * Replaces an existing object (new resourceVersion; generation + 1 when `specChanged`). When it
   * is being deleted and has no finalizers left, it is removed instead (DELETED event) and
   * `removed` is true.
   */
  update<T extends KubeObject>(
    resource: ResourceName,
    input: T,
    options: { specChanged?: boolean } = {},
  ): { object: T; removed: boolean } {
    const b = this.bucket(resource);
    const k = key(input.metadata.namespace, input.metadata.name ?? '');
    const previous = b.get(k);
    if (!previous) throw new Error(`kube-fake store: update of missing ${resource} ${k}`);
    const obj = clone(input);
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    obj.metadata.uid = previous.metadata.uid;
    obj.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    if (previous.metadata.generation !== undefined)
      obj.metadata.generation = previous.metadata.generation + (options.specChanged ? 1 : 0);
    if (this.removable(resource, obj)) {
      b.delete(k);
      this.record(resource, 'DELETED', obj);
      return { object: clone(obj), removed: true };
    }
    b.set(k, obj);
    this.record(resource, 'MODIFIED', obj, previous);
    return { object: clone(obj), removed: false };
  }

  private removable(resource: ResourceName, obj: KubeObject): boolean {
    if (!obj.metadata.deletionTimestamp) return false;
    if ((obj.metadata.finalizers ?? []).length > 0) return false;
    return this.options.canRemove ? this.options.canRemove(resource, obj) : true;
  }

  /** Removes an object now (DELETED event with a fresh resourceVersion); returns its last state. */
  remove<T extends KubeObject = KubeObject>(resource: ResourceName, namespace: string, name: string): T | undefined {
    const b = this.bucket(resource);
    const k = key(namespace, name);
    const obj = b.get(k);
    if (!obj) return undefined;
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    b.delete(k);
    this.record(resource, 'DELETED', obj);
    return clone(obj) as T;
  }

  /**
   * The changes after `rv`, or `'expired'` when some of them have left the history window
   * (the watch must relist).
   */
  changesSince(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.oldestWatchableRv) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  /** The oldest resourceVersion a watch may still start from. */
  get oldestResourceVersion(): number {
    return this.oldestWatchableRv;
  }

  /**
   * Compacts the history, as etcd compaction does: every resourceVersion handed out so far expires.
   * The counter moves on by one so that a fresh list returns a version that can be watched.
   */
  compact(): void {
    this.rv++;
    this.oldestWatchableRv = this.rv;
    this.history.length = 0;
  }
}
