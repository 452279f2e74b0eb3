/**
 * One consumer of the benchmark's stored trial stream, in a fresh process (so its RSS is its own).
 * Usage: node bench/dist/evaluator-once.js '<json Args>'  → prints one JSON line (Once).
 *   mode 'bare':      `bus.consume({ durable, handler })`: the bus decodes (JSON.parse) and validates
 *                     (the TrialEvent contract) every delivery; the handler checks it and acks it.
 *   mode 'evaluator': `createEvaluator` (defaults: 64 in flight, commits of 32 to the file store),
 *                     timed until every delivery is acked (acks follow the commit of its trial file);
 *                     RSS sampled when the given delivery counts are reached; then the report built.
 */
import type { Bus, Delivery, Subscription } from '@fersweep/messaging';
import { connectNatsBus } from '@fersweep/messaging';
import { createEvaluator } from '@fersweep/evaluator';
import { createLogger, createRegistry } from '@fersweep/observability';
import { openStore, StoreError, type ObjectInfo, type ObjectStore } from '@fersweep/storage';

export interface Args {
  mode: 'bare' | 'evaluator';
  url: string;
  durable: string;
  /** Deliveries in the stream. */
  total: number;
  sweep: string;
  /** Evaluator: its store root, or 'memory' (ablation: objects in a Map, no file I/O). */
  store?: string;
  /** Evaluator: sample RSS once this many deliveries have been handed to it (label → count). */
  samples?: Record<string, number>;
  /** Evaluator: build and finalize the report after ingestion (default true). */
  report?: boolean;
  /** Evaluator: deliveries per commit and in flight (default the evaluator's: 32 and 64). */
  batchSize?: number;
  maxInFlight?: number;
}

export interface Once {
  mode: Args['mode'];
  seconds: number;
  events: number;
  /** label → MiB, sampled (after a forced GC when run with --expose-gc) as the evaluator received the label's delivery count. */
  rssMiB: Record<string, number>;
  heapMiB: Record<string, number>;
  /** Peak RSS (getrusage) when the last event was acked (before the report is built). */
  maxRssMiB: number;
  /** Evaluator: report of the ingested sweep, built cold (snapshot + ranking + pairwise McNemar). */
  buildSeconds?: number;
  /** Evaluator: finalize → build + figures + HTML + report.json written to the store. */
  finalizeSeconds?: number;
  trials?: number;
  /** Evaluator, during ingestion: objects written, their size, and the wall time with a write in flight. */
  puts?: number;
  putMiB?: number;
  putBusySeconds?: number;
}

const MiB = 2 ** 20;
const args = JSON.parse(process.argv[2] ?? '') as Args;

/** The bus, counting deliveries handed out and acks confirmed by the server. */
function instrumented(bus: Bus, onDelivery: (n: number) => void, onAck: () => void): Bus {
  const wrapDelivery = (d: Delivery): Delivery => ({
    ...d,
    ack: async () => {
      await d.ack();
      onAck();
    },
  });
  return {
    publish: (e) => bus.publish(e),
    close: () => bus.close(),
    async consume(options) {
      const sub = await bus.consume(options);
      let n = 0;
      const wrapped: Subscription = {
        durable: sub.durable,
        closed: sub.closed,
        pending: () => sub.pending(),
        stop: () => sub.stop(),
        [Symbol.asyncIterator]() {
          const it = sub[Symbol.asyncIterator]();
          return {
            next: async () => {
              const r = await it.next();
              if (r.done) return r;
              onDelivery(++n);
              return { done: false, value: wrapDelivery(r.value) };
            },
            return: async () => (await it.return?.()) ?? { done: true, value: undefined },
          };
        },
      };
      return wrapped;
    },
  };
}

/** Counts the puts of `store` (bytes, and the wall time during which at least one is in flight). */
function measured(store: ObjectStore) {
  const stats = { puts: 0, bytes: 0, busyMs: 0 };
  let inFlight = 0;
  let since = 0;
  const wrapped: ObjectStore = {
    url: store.url,
    get: (key) => store.get(key),
    getStream: (key, range) => store.getStream(key, range),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    deletePrefix: (prefix) => store.deletePrefix(prefix),
    sub: (prefix) => store.sub(prefix),
    put: async (key, body, options) => {
      stats.puts++;
      stats.bytes += typeof body === 'string' ? Buffer.byteLength(body) : 'byteLength' in body ? body.byteLength : 0;
      if (inFlight++ === 0) since = performance.now();
      try {
        return await store.put(key, body, options);
      } finally {
        if (--inFlight === 0) stats.busyMs += performance.now() - since;
      }
    },
  };
  return { store: wrapped, stats };
}

/** Ablation: a store that keeps objects in a Map (what the evaluator does without file I/O). */
function memoryStore(): ObjectStore {
  const objects = new Map<string, Buffer>();
  const info = (key: string): ObjectInfo => ({ key, bytes: objects.get(key)!.length });
  const store: ObjectStore = {
    url: 'memory://bench',
    async put(key, body) {
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new Error('streams are not supported');
      objects.set(key, Buffer.from(body));
      return info(key);
    },
    async get(key) {
      const o = objects.get(key);
      if (!o) throw new StoreError('NotFound', `no ${key}`);
      return o;
    },
    async getStream() {
      throw new Error('not supported');
    },
    async head(key) {
      return objects.has(key) ? info(key) : undefined;
    },
    async *list(prefix = '') {
      for (const key of [...objects.keys()].sort()) if (key.startsWith(prefix)) yield info(key);
    },
    async delete(key) {
      objects.delete(key);
    },
    async deletePrefix(prefix) {
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix));
      for (const k of keys) objects.delete(k);
      return keys.length;
    },
    sub() {
      throw new Error('not supported');
    },
  };
  return store;
}

async function bare(): Promise<Once> {
  const bus = await connectNatsBus({ url: args.url, name: `bench-${args.durable}` });
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t = performance.now();
  const sub = await bus.consume({
    durable: args.durable,
    maxInFlight: 64,
    handler: async (d) => {
      if (d.error) throw d.error;
      if (d.event.sweep !== args.sweep) throw new Error(`unexpected sweep ${d.event.sweep}`);
      await d.ack();
      if (++n === args.total) done();
    },
  });
  await finished;
  const seconds = (performance.now() - t) / 1000;
  await sub.stop();
  await bus.close();
  const m = process.memoryUsage();
  return {
    mode: 'bare',
    seconds,
    events: n,
    rssMiB: { end: m.rss / MiB },
    heapMiB: { end: m.heapUsed / MiB },
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function evaluator(): Promise<Once> {
  const nats = await connectNatsBus({ url: args.url, name: `bench-${args.durable}` });
  const rssMiB: Record<string, number> = {};
  const heapMiB: Record<string, number> = {};
  const samples = Object.entries(args.samples ?? {});
  let acked = 0;
  let gcMs = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const bus = instrumented(
    nats,
    (n) => {
      for (const [label, at] of samples)
        if (n === at) {
          // A full GC first, so the sample is live memory; its time is not counted.
          const g = performance.now();
          globalThis.gc?.();
          gcMs += performance.now() - g;
          const m = process.memoryUsage();
          rssMiB[label] = m.rss / MiB;
          heapMiB[label] = m.heapUsed / MiB;
        }
    },
    () => {
      if (++acked === args.total) done();
    },
  );
  const { store, stats } = measured(args.store === 'memory' ? memoryStore() : openStore(args.store!));
  const ev = createEvaluator({
    bus,
    store,
    registry: createRegistry({ service: 'evaluator', defaultMetrics: false }),
    logger: createLogger({ service: 'evaluator', silent: true }),
    durable: args.durable,
    sampleImages: false,
    ...(args.batchSize ? { batchSize: args.batchSize } : {}),
    ...(args.maxInFlight ? { maxInFlight: args.maxInFlight } : {}),
  });
  const t = performance.now();
  await ev.start();
  await finished;
  const seconds = (performance.now() - t - gcMs) / 1000;
  globalThis.gc?.();
  const m = process.memoryUsage();
  rssMiB.end = m.rss / MiB;
  heapMiB.end = m.heapUsed / MiB;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const ingest = { ...stats };

  let buildSeconds: number | undefined;
  let finalizeSeconds: number | undefined;
  let trials: number | undefined;
  if (args.report !== false) {
    let b = performance.now();
    const report = await ev.report(args.sweep);
    buildSeconds = (performance.now() - b) / 1000;
    trials = report?.trials.length ?? 0;
    b = performance.now();
    await ev.finalize(args.sweep);
    finalizeSeconds = (performance.now() - b) / 1000;
  }
  await ev.stop();
  await nats.close();
  return {
    mode: 'evaluator',
    seconds,
    events: acked,
    rssMiB,
    heapMiB,
    maxRssMiB,
    ...(buildSeconds !== undefined ? { buildSeconds, finalizeSeconds: finalizeSeconds!, trials: trials! } : {}),
    puts: ingest.puts,
    putMiB: ingest.bytes / MiB,
    putBusySeconds: ingest.busyMs / 1000,
  };
}

const out = args.mode === 'bare' ? await bare() : await evaluator();
console.log(JSON.stringify(out));
