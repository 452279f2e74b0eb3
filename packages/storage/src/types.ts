import type { Readable } from 'node:stream';

/** What a store knows about one object. */
export interface ObjectInfo {
  /** Key relative to the store's root. */
  key: string;
  bytes: number;
  etag?: string;
  lastModified?: Date;
  metadata?: Record<string, string>;
  /** Set by `head` (and `put`) when the object was written with one; `list` leaves it out. */
  contentType?: string;
}

export interface PutOptions {
  contentType?: string;
  /**
   * Small string metadata kept with the object (S3 user metadata, a sidecar in the file store).
   * Both stores hold S3's rules so data moves between them unchanged: names are lowercased and
   * made of letters, digits, `-`, `_` and `.`; values are printable ASCII without surrounding
   * spaces; 2 KiB in all. Anything else is StoreError 'InvalidArgument'.
   */
  metadata?: Record<string, string>;
}

/**
 * A flat key → bytes store rooted at a URL (`s3://bucket/prefix` or `file:///abs/path`).
 * Keys are relative, `/`-separated, never start with `/` and never contain `..`.
 * Writes are atomic: a reader sees the old object, the whole new one, or nothing.
 */
export interface ObjectStore {
  /** The root URL, e.g. `s3://fersweep/datasets/fer2013` (no trailing slash). */
  readonly url: string;
  put(key: string, body: Uint8Array | string | Readable, options?: PutOptions): Promise<ObjectInfo>;
  /** Whole object; throws StoreError code 'NotFound' when absent. */
  get(key: string): Promise<Buffer>;
  /** Streamed object, optionally a byte range [start, end] inclusive. */
  getStream(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix (all of them for ''), in key order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** A store rooted at `<this root>/<prefix>`, sharing this one's client. */
  sub(prefix: string): ObjectStore;
}

export type StoreErrorCode =
  | 'InvalidUrl' // unknown scheme or malformed URL
  | 'InvalidKey'
  | 'InvalidArgument' // a bad range or metadata (non-ASCII, too large)
  | 'NotFound' // no such object
  | 'NoSuchBucket'
  | 'AccessDenied' // bad or missing credentials, or a policy refusal
  | 'Unavailable' // network or server failure that outlasted the retries
  | 'Internal';

/** Every store failure: `code` is stable, `message` is one line a user can act on. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly url?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
