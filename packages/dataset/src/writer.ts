import { createHash } from 'node:crypto';
import { keys, type ShardEntry, type SplitEntry, type SplitName, NUM_CLASSES } from '@fersweep/contracts';
import type { ObjectStore } from '@fersweep/storage';
import { encodeShard } from './shards.js';

export interface WriterOptions {
  /** Images per shard (default 4096 ≈ 9.4 MB of pixels). */
  shardSize?: number;
  height: number;
  width: number;
  /** Shard uploads in flight at once (default 2). */
  concurrency?: number;
}

class SplitBuffer {
  readonly labels: Uint8Array;
  readonly pixels: Uint8Array;
  readonly indices: Uint32Array;
  n = 0;
  count = 0;
  readonly classCounts = new Array<number>(NUM_CLASSES).fill(0);
  readonly shards: ShardEntry[] = [];
  constructor(size: number, pixelsPerImage: number) {
    this.labels = new Uint8Array(size);
    this.pixels = new Uint8Array(size * pixelsPerImage);
    this.indices = new Uint32Array(size);
  }
}

/**
 * Accumulates rows per split and uploads full shards in the background (bounded), recording each
 * shard's count, size and sha256 for the manifest. Memory: one shard buffer per split plus the
 * shards in flight, whatever the dataset's size.
 */
export class DatasetWriter {
  private readonly buffers = new Map<SplitName, SplitBuffer>();
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly shardSize: number;
  private readonly concurrency: number;
  private readonly pixelsPerImage: number;
  readonly written: string[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly options: WriterOptions,
  ) {
    this.shardSize = options.shardSize ?? 4096;
    this.concurrency = options.concurrency ?? 2;
    this.pixelsPerImage = options.height * options.width;
  }

  async add(split: SplitName, label: number, pixels: Uint8Array, index: number): Promise<void> {
    let b = this.buffers.get(split);
    if (!b) this.buffers.set(split, (b = new SplitBuffer(this.shardSize, this.pixelsPerImage)));
    b.labels[b.n] = label;
    b.pixels.set(pixels, b.n * this.pixelsPerImage);
    b.indices[b.n] = index;
    b.n++;
    b.count++;
    b.classCounts[label]!++;
    if (b.n === this.shardSize) await this.flush(split, b);
  }

  private async flush(split: SplitName, b: SplitBuffer): Promise<void> {
    if (this.failure) throw this.failure;
    const key = keys.shard(split, b.shards.length);
    const bytes = encodeShard({
      count: b.n,
      height: this.options.height,
      width: this.options.width,
      labels: b.labels.subarray(0, b.n),
      pixels: b.pixels.subarray(0, b.n * this.pixelsPerImage),
      indices: b.indices.subarray(0, b.n),
    });
    // encodeShard's output does not alias the buffers (the IPC writer copies), so they can be refilled now.
    b.shards.push({ key, count: b.n, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
    b.n = 0;
    this.written.push(key);
    const upload = this.store
      .put(key, bytes, { contentType: 'application/vnd.apache.arrow.file' })
      .then(
        () => undefined,
        (err: unknown) => void (this.failure ??= err),
      )
      .finally(() => this.inflight.delete(upload));
    this.inflight.add(upload);
    while (this.inflight.size >= this.concurrency) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
  }

  /**
   * Flushes partial shards, waits for every upload, and returns the manifest's split entries:
   * every split that received rows, plus `required` ones (empty when they received none).
   */
  async finish(required: readonly SplitName[]): Promise<Partial<Record<SplitName, SplitEntry>>> {
    for (const split of required)
      if (!this.buffers.has(split)) this.buffers.set(split, new SplitBuffer(0, this.pixelsPerImage));
    for (const [split, b] of this.buffers) if (b.n > 0) await this.flush(split, b);
    await Promise.all(this.inflight);
    if (this.failure) throw this.failure;
    const out: Partial<Record<SplitName, SplitEntry>> = {};
    for (const [split, b] of this.buffers)
      out[split] = { count: b.count, classCounts: [...b.classCounts], shards: b.shards };
    return out;
  }

  /** Waits for uploads to settle, then deletes every shard this writer wrote. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inflight);
    await Promise.allSettled(this.written.map((k) => this.store.delete(k)));
  }
}
