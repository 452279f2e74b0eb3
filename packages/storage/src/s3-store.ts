/**
 * The cluster store: objects in an S3-compatible bucket under a key prefix (`s3://bucket/prefix`).
 * Connection settings: s3-config.ts (the standard AWS variables, read as the SDK reads them).
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import {
  chunkBytes,
  joinKey,
  MAX_KEY_BYTES,
  normalizeMetadata,
  validateKey,
  validatePrefix,
  validateRange,
  validateSubPrefix,
} from './keys.js';
import {
  clientConfig,
  configError,
  endpointLabel,
  resolveS3Config,
  type ResolvedS3Config,
  type S3Location,
  type S3StoreOptions,
} from './s3-config.js';
import { isS3InvalidRange, isS3NotFound, noSuchBucketError, toStoreError, type S3ErrorContext } from './s3-errors.js';
import { StoreError, type ObjectInfo, type ObjectStore, type PutOptions } from './types.js';

const MIB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MIB;
const MAX_DELETE_BATCH = 1000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

// Buckets seen to exist, per client: a HeadObject 404 does not say whether the key or the bucket
// is missing, so the first miss asks HeadBucket and later misses trust this.
const knownBuckets = new WeakMap<S3Client, Set<string>>();

const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, '');

/** An ObjectStore on an S3-compatible bucket (`s3://bucket/prefix`). */
export class S3Store implements ObjectStore {
  /** `s3://bucket` or `s3://bucket/prefix`. */
  readonly url: string;
  readonly bucket: string;
  /** Key prefix of this store's root, without slashes at either end; '' for the whole bucket. */
  readonly prefix: string;
  readonly client: S3Client;
  /** The settings in effect (no secrets). */
  readonly config: ResolvedS3Config;
  readonly #options: S3StoreOptions;
  readonly #ownsClient: boolean;
  readonly #endpoint: string;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #pageSize: number;

  constructor(location: S3Location, options: S3StoreOptions = {}) {
    if (!BUCKET_NAME.test(location.bucket)) {
      throw new StoreError(
        'InvalidUrl',
        `invalid bucket name '${location.bucket}': 3–63 lowercase letters, digits, '.', '-' or '_'`,
        `s3://${location.bucket}`,
      );
    }
    this.bucket = location.bucket;
    this.prefix = validateSubPrefix(location.prefix ?? '', `s3://${location.bucket}`);
    this.url = this.prefix === '' ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}`;
    this.#options = options;
    this.config = resolveS3Config(options);
    this.#endpoint = endpointLabel(this.config);
    this.#partSize = options.partSize ?? 8 * MIB;
    this.#queueSize = options.queueSize ?? 4;
    this.#pageSize = options.listPageSize ?? 1000;
    if (!Number.isSafeInteger(this.#partSize) || this.#partSize < MIN_PART_SIZE) {
      throw configError(`partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part), got ${this.#partSize}`);
    }
    if (!Number.isSafeInteger(this.#queueSize) || this.#queueSize < 1)
      throw configError(`queueSize must be ≥ 1, got ${this.#queueSize}`);
    if (!Number.isSafeInteger(this.#pageSize) || this.#pageSize < 1 || this.#pageSize > MAX_DELETE_BATCH) {
      throw configError(`listPageSize must be 1–${MAX_DELETE_BATCH}, got ${this.#pageSize}`);
    }
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client(clientConfig(this.config, options));
  }

  /** Splits `s3://bucket/prefix` into its parts; throws StoreError 'InvalidUrl' when malformed. */
  static parseUrl(url: string): S3Location {
    const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
    const bucket = match?.[1];
    if (!match || !bucket) {
      throw new StoreError('InvalidUrl', `invalid S3 URL '${url}': use s3://bucket or s3://bucket/prefix`, url);
    }
    const prefix = (match[2] ?? '').replace(/\/+$/, '');
    try {
      validateSubPrefix(prefix);
    } catch (err) {
      throw new StoreError(
        'InvalidUrl',
        `invalid prefix in S3 URL '${url}': ${err instanceof Error ? err.message : String(err)}`,
        url,
        { cause: err },
      );
    }
    return { bucket, prefix };
  }

  /** Opens `s3://bucket/prefix`. */
  static fromUrl(url: string, options: S3StoreOptions = {}): S3Store {
    return new S3Store(S3Store.parseUrl(url), options);
  }

  async put(key: string, body: Uint8Array | string | Readable, options: PutOptions = {}): Promise<ObjectInfo> {
    const k = validateKey(key, this.url);
    const metadata = normalizeMetadata(options.metadata, this.url);
    const params: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.#fullKey(k),
      ...(options.contentType !== undefined && { ContentType: options.contentType }),
      ...(metadata && { Metadata: metadata }),
    };
    const info = (bytes: number, etag: string | undefined): ObjectInfo => ({
      key: k,
      bytes,
      ...(etag !== undefined && { etag: unquote(etag) }),
      ...(metadata && { metadata }),
      ...(options.contentType !== undefined && { contentType: options.contentType }),
    });
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      try {
        if (bytes.byteLength <= this.#partSize) {
          const out = await this.client.send(
            new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.byteLength }),
          );
          return info(bytes.byteLength, out.ETag);
        }
        return info(bytes.byteLength, await this.#upload({ ...params, Body: bytes }));
      } catch (err) {
        throw toStoreError(err, this.#ctx('put', k));
      }
    }
    // Count the bytes on the way through, and remember whether a failure was the caller's stream
    // (passed on unchanged, as from the file store) or S3's.
    let bytes = 0;
    let sourceFailure: { error: unknown } | undefined;
    const url = this.url;
    async function* counted(source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of source) {
          const b = chunkBytes(chunk, url);
          bytes += b.byteLength;
          yield b;
        }
      } catch (error) {
        sourceFailure = { error };
        throw error;
      }
    }
    const stream = Readable.from(counted(body), { objectMode: false });
    try {
      // Upload sends one PutObject when the stream ends within the first part, else a multipart
      // upload that it aborts on any failure: S3 never shows a partial object either way.
      const etag = await this.#upload({ ...params, Body: stream });
      return info(bytes, etag); // counted only once the upload has drained the stream
    } catch (err) {
      stream.destroy(); // and with it the caller's stream, as the file store does
      if (sourceFailure) throw sourceFailure.error;
      throw toStoreError(err, this.#ctx('put', k));
    }
  }

  async get(key: string): Promise<Buffer> {
    const k = validateKey(key, this.url);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#fullKey(k) }));
      if (!out.Body) return Buffer.alloc(0);
      const bytes = await out.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw toStoreError(err, this.#ctx('get', k));
    }
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const k = validateKey(key, this.url);
    const r = validateRange(range, this.url);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.#fullKey(k),
          ...(r && { Range: `bytes=${r.start}-${r.end ?? ''}` }),
        }),
      );
      if (!out.Body) return Readable.from([], { objectMode: false });
      if (out.Body instanceof Readable) return out.Body;
      throw new StoreError('Internal', `S3 returned a non-Node stream for '${k}' in ${this.url}`, this.url);
    } catch (err) {
      // S3 refuses (416) a range that starts at or past the end; the file store, like
      // fs.createReadStream, yields nothing. Agree on nothing.
      if (r && isS3InvalidRange(err)) return Readable.from([], { objectMode: false });
      throw toStoreError(err, this.#ctx('get', k));
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const k = validateKey(key, this.url);
    const ctx = this.#ctx('head', k);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#fullKey(k) }));
      const metadata = out.Metadata && Object.keys(out.Metadata).length > 0 ? out.Metadata : undefined;
      return {
        key: k,
        bytes: out.ContentLength ?? 0,
        ...(out.ETag !== undefined && { etag: unquote(out.ETag) }),
        ...(out.LastModified && { lastModified: out.LastModified }),
        ...(metadata && { metadata }),
        ...(out.ContentType !== undefined && { contentType: out.ContentType }),
      };
    } catch (err) {
      if (!isS3NotFound(err)) throw toStoreError(err, ctx);
      await this.#assertBucket(ctx);
      return undefined;
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    const p = validatePrefix(prefix, this.url);
    const root = this.#rootPrefix();
    for await (const page of this.#pages(p, 'list')) {
      for (const o of page) {
        // Zero-byte "folder" markers that consoles create are not objects a key could name.
        if (!o.Key || o.Key.endsWith('/')) continue;
        yield {
          key: o.Key.slice(root.length),
          bytes: o.Size ?? 0,
          ...(o.ETag !== undefined && { etag: unquote(o.ETag) }),
          ...(o.LastModified && { lastModified: o.LastModified }),
        };
      }
    }
  }

  async delete(key: string): Promise<void> {
    const k = validateKey(key, this.url);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#fullKey(k) }));
    } catch (err) {
      if (isS3NotFound(err)) return; // S3 says 204 for an absent key; some compatibles say 404
      throw toStoreError(err, this.#ctx('delete', k));
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const p = validatePrefix(prefix, this.url);
    const root = this.#rootPrefix();
    let deleted = 0;
    // Pages hold at most listPageSize ≤ 1000 keys, DeleteObjects' limit. Deleting a page does not
    // disturb the listing: the continuation token names the last key returned, not a position.
    for await (const page of this.#pages(p, 'deletePrefix')) {
      const objects = page.flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (objects.length === 0) continue;
      let out;
      try {
        out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }),
        );
      } catch (err) {
        throw toStoreError(err, this.#ctx('deletePrefix', p || undefined));
      }
      const failed = out.Errors ?? [];
      const first = failed[0];
      if (first) {
        const key = first.Key?.slice(root.length);
        throw toStoreError(first, this.#ctx('delete', key));
      }
      deleted += objects.length;
    }
    return deleted;
  }

  sub(prefix: string): S3Store {
    const p = validateSubPrefix(prefix, this.url);
    if (p === '') return this;
    return new S3Store(
      { bucket: this.bucket, prefix: joinKey(this.prefix, p) },
      { ...this.#options, client: this.client },
    );
  }

  /** Closes the connections of the client this store made (not of one passed in). */
  destroy(): void {
    if (this.#ownsClient) this.client.destroy();
  }

  #rootPrefix(): string {
    return this.prefix === '' ? '' : `${this.prefix}/`;
  }

  #fullKey(key: string): string {
    const full = this.#rootPrefix() + key;
    if (Buffer.byteLength(full) > MAX_KEY_BYTES) {
      throw new StoreError(
        'InvalidKey',
        `key '${key}' is too long under ${this.url}: S3 keys are at most ${MAX_KEY_BYTES} bytes with the prefix`,
        this.url,
      );
    }
    return full;
  }

  #ctx(op: string, key?: string): S3ErrorContext {
    return { op, url: this.url, bucket: this.bucket, endpoint: this.#endpoint, ...(key !== undefined && { key }) };
  }

  async #upload(params: PutObjectCommandInput): Promise<string | undefined> {
    const upload = new Upload({
      client: this.client,
      params,
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    const out = await upload.done();
    return out.ETag;
  }

  /** Raw ListObjectsV2 pages (full keys) under this store's root + prefix. */
  async *#pages(prefix: string, op: string): AsyncGenerator<_Object[]> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.#rootPrefix() + prefix,
            MaxKeys: this.#pageSize,
            ...(token !== undefined && { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw toStoreError(err, this.#ctx(op, prefix || undefined));
      }
      yield out.Contents ?? [];
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async #assertBucket(ctx: S3ErrorContext): Promise<void> {
    const known = knownBuckets.get(this.client) ?? new Set<string>();
    if (known.has(this.bucket)) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (isS3NotFound(err)) throw noSuchBucketError(ctx, err);
      throw toStoreError(err, ctx);
    }
    known.add(this.bucket);
    knownBuckets.set(this.client, known);
  }
}
