/**
 * Shared by the storage tests (never part of the build): fixtures that stand up each store on
 * real backing (a temp dir, a moto_server process), and small stream helpers.
 */
import { expect } from '@jest/globals';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startS3, type RunningS3 } from '@fersweep/testkit';
import { FileStore } from './file-store.js';
import type { S3StoreOptions } from './s3-config.js';
import { S3Store } from './s3-store.js';
import { StoreError, type ObjectStore, type StoreErrorCode } from './types.js';

export interface StoreFixture {
  store: ObjectStore;
  close(): Promise<void>;
}

export async function fileFixture(): Promise<StoreFixture & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-storage-'));
  return { dir, store: new FileStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
}

export const TEST_BUCKET = 'fersweep-test';

/** A store on a fresh moto_server, rooted at a prefix so that prefix handling is always exercised. */
export async function s3Fixture(
  options: S3StoreOptions = {},
): Promise<StoreFixture & { s3: RunningS3; store: S3Store }> {
  const s3 = await startS3();
  const store = new S3Store({ bucket: TEST_BUCKET, prefix: 'root' }, { env: s3.env, maxAttempts: 2, ...options });
  try {
    await store.client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }));
  } catch (err) {
    store.destroy();
    await s3.stop();
    throw err;
  }
  return {
    s3,
    store,
    close: async () => {
      store.destroy();
      await s3.stop();
    },
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Awaits `work`, expecting a StoreError with `code`; returns it for further checks. */
export async function rejectsWith(work: Promise<unknown> | (() => unknown), code: StoreErrorCode): Promise<StoreError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe(code);
    return err as StoreError;
  }
  throw new Error(`expected a StoreError '${code}', but it succeeded`);
}

/** `total` bytes in `chunkSize` pieces, deterministic, then optionally a failure. */
export function byteStream(total: number, options: { chunkSize?: number; failWith?: Error } = {}): Readable {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < total; sent += chunkSize) yield patterned(sent, Math.min(chunkSize, total - sent));
    if (options.failWith) throw options.failWith;
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** The bytes byteStream yields, at `offset`: a pattern that a misplaced part would break. */
export function patterned(offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + ((offset + i) >> 12)) & 0xff;
  return out;
}

/** A stream the test feeds by hand: push() chunks, end() it, or fail() it. */
export function handFedStream(): { stream: Readable; push(chunk: string): void; end(): void; fail(err: Error): void } {
  const stream = new Readable({ read() {} });
  return {
    stream,
    push: (chunk) => void stream.push(chunk),
    end: () => void stream.push(null),
    fail: (err) => void stream.destroy(err),
  };
}

export const tick = (ms = 20) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await tick();
  }
}
