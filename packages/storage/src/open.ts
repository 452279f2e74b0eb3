import { resolve } from 'node:path';
import { FileStore } from './file-store.js';
import type { S3StoreOptions } from './s3-config.js';
import { S3Store } from './s3-store.js';
import { StoreError, type ObjectStore } from './types.js';

/** Options for `openStore`; each applies only to its kind of store. */
export interface OpenStoreOptions {
  s3?: S3StoreOptions;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Opens the store a URL names: `s3://bucket/prefix`, `file:///absolute/path`, or a plain
 * absolute or relative path (resolved against the working directory), which is what people type.
 * Throws StoreError 'InvalidUrl' for any other scheme or a malformed URL.
 */
export function openStore(url: string, options: OpenStoreOptions = {}): ObjectStore {
  const trimmed = url.trim();
  if (trimmed === '') {
    throw new StoreError('InvalidUrl', 'empty store URL: use s3://bucket/prefix or file:///absolute/path');
  }
  // A one-letter "scheme" is a Windows drive (C:\data), not a URL.
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1) return new FileStore(resolve(trimmed));
  if (scheme === 's3') return S3Store.fromUrl(trimmed, options.s3);
  if (scheme === 'file') return FileStore.fromUrl(trimmed);
  throw new StoreError(
    'InvalidUrl',
    `unsupported store URL '${trimmed}': use s3://bucket/prefix or file:///absolute/path`,
    trimmed,
  );
}
