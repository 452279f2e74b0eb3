/** The KeyValueStore on a JetStream KV bucket. */
import { JetStreamApiCodes, jetstream, StorageType } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { assertKey, assertRevision, redactUrl, toBytes } from './codec.js';
import { isApiCode, unavailable } from './nats-errors.js';
import { assertSubjectFilter } from './subjects.js';
import {
  MessagingError,
  type KeyValueStore,
  type KvEntry,
  type KvWatch,
  type KvWatchEntry,
  type KvWatchOptions,
} from './types.js';

/** Options of {@link openNatsKv}. */
export interface NatsKvOptions {
  /**
   * Open an existing bucket without creating or configuring it (a reader such as the evaluator, whose
   * NATS user may read the bucket but not manage it). Reads use direct gets.
   */
  readOnly?: boolean;
  /** Values kept per key (1 = only the current one). Default 1. */
  history?: number;
  /** Timeout of each KV operation. Default 5 s. */
  timeoutMs?: number;
}

/**
 * A KeyValueStore on a JetStream KV bucket (created with file storage when absent), sharing the
 * connection `nc` (e.g. `bus.connection`).
 */
export async function openNatsKv(
  nc: NatsConnection,
  bucket: string,
  options: NatsKvOptions = {},
): Promise<KeyValueStore> {
  const url = redactUrl(nc.getServer());
  const timeout = options.timeoutMs ?? 5_000;
  let kv: KV;
  try {
    const kvm = new Kvm(jetstream(nc, { timeout }));
    kv = options.readOnly
      ? await kvm.open(bucket, { timeout, allow_direct: true })
      : await kvm.create(bucket, { history: options.history ?? 1, storage: StorageType.File, timeout });
  } catch (err) {
    throw unavailable(url, `open KV bucket '${bucket}'`, err);
  }

  const cas = (key: string, err: unknown, what: string): MessagingError =>
    isApiCode(err, JetStreamApiCodes.StreamWrongLastSequence)
      ? what === 'create'
        ? new MessagingError('Exists', `key '${key}' already exists in bucket '${bucket}'`, url, { cause: err })
        : new MessagingError(
            'WrongRevision',
            `key '${key}' in bucket '${bucket}' is not at the expected revision: read it again and retry`,
            url,
            { cause: err },
          )
      : unavailable(url, `${what} '${key}' in bucket '${bucket}'`, err);

  return {
    bucket,
    async get(key: string): Promise<KvEntry | undefined> {
      assertKey(key);
      try {
        const e = await kv.get(key);
        return e && e.operation === 'PUT' ? { value: new Uint8Array(e.value), revision: e.revision } : undefined;
      } catch (err) {
        throw unavailable(url, `get '${key}' from bucket '${bucket}'`, err);
      }
    },
    async put(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      return kv.put(key, toBytes(value)).catch((err: unknown) => {
        throw cas(key, err, 'put');
      });
    },
    async create(key: string, value: Uint8Array | string): Promise<number> {
      assertKey(key);
      return kv.create(key, toBytes(value)).catch((err: unknown) => {
        throw cas(key, err, 'create');
      });
    },
    async update(key: string, value: Uint8Array | string, revision: number): Promise<number> {
      assertKey(key);
      assertRevision(revision);
      return kv.update(key, toBytes(value), revision).catch((err: unknown) => {
        throw cas(key, err, 'update');
      });
    },
    async delete(key: string): Promise<void> {
      assertKey(key);
      await kv.delete(key).catch((err: unknown) => {
        throw unavailable(url, `delete '${key}' from bucket '${bucket}'`, err);
      });
    },
    async *keys(prefix = ''): AsyncIterable<string> {
      // The server filters by whole tokens; a partial last token is filtered here.
      const whole = prefix.slice(0, prefix.lastIndexOf('.') + 1);
      const filter = `${whole}>`;
      let iter;
      try {
        iter = await kv.keys(filter);
      } catch (err) {
        throw unavailable(url, `list keys '${prefix}' of bucket '${bucket}'`, err);
      }
      for await (const key of iter) if (key.startsWith(prefix)) yield key;
    },
    async watch(watchOptions: KvWatchOptions = {}): Promise<KvWatch> {
      const key = watchOptions.key ?? '>';
      assertSubjectFilter(key, 'key filter');
      let w;
      try {
        w = await kv.watch({
          key,
          include: watchOptions.updatesOnly ? KvWatchInclude.UpdatesOnly : KvWatchInclude.LastValue,
        });
      } catch (err) {
        throw unavailable(url, `watch '${key}' in bucket '${bucket}'`, err);
      }
      const source = w[Symbol.asyncIterator]();
      const stop = () => w.stop();
      return {
        stop,
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<KvWatchEntry, undefined>> => {
            const r = await source.next();
            if (r.done) return { value: undefined, done: true };
            const e = r.value;
            const entry: KvWatchEntry =
              e.operation === 'PUT'
                ? { key: e.key, value: new Uint8Array(e.value), revision: e.revision, operation: 'PUT' }
                : { key: e.key, revision: e.revision, operation: 'DEL' };
            return { value: entry, done: false };
          },
          return: async () => (stop(), { value: undefined, done: true }),
        }),
      };
    },
  };
}
