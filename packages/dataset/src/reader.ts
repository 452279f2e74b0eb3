import { createHash } from 'node:crypto';
import { DatasetManifest, keys, type ShardEntry, type SplitName } from '@fersweep/contracts';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import { DatasetError } from './errors.js';
import { decodeShard, type ShardColumns } from './shards.js';

/** One split loaded into memory: what the trainer's batch pipeline consumes. */
export interface SplitData {
  count: number;
  height: number;
  width: number;
  labels: Uint8Array;
  /** count × height × width bytes. */
  images: Uint8Array;
  indices: Uint32Array;
}

export interface VerifyProblem {
  shard: string;
  problem: string;
}

/** Reads and validates manifest.json at a dataset root; clear errors when absent or malformed. */
export async function readManifest(store: ObjectStore): Promise<DatasetManifest> {
  let raw: Buffer;
  try {
    raw = await store.get(keys.manifest);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'NotFound') {
      throw new DatasetError(
        'ManifestMissing',
        `no dataset at ${store.url}: manifest.json not found (create one with 'fersweep dataset import' or 'fersweep dataset synth')`,
      );
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new DatasetError('ManifestInvalid', `${store.url}/manifest.json is not valid JSON`, {}, { cause });
  }
  const parsed = DatasetManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new DatasetError('ManifestInvalid', `${store.url}/manifest.json: ${field || '(root)'}: ${issue.message}`, {
      field,
    });
  }
  return parsed.data;
}

/**
 * A published dataset on an object store. Every shard is checked against the manifest's size and
 * sha256 before it is decoded: a corrupt or tampered shard is refused with its name.
 */
export class DatasetReader {
  private constructor(
    readonly store: ObjectStore,
    readonly manifest: DatasetManifest,
  ) {}

  static async open(store: ObjectStore): Promise<DatasetReader> {
    return new DatasetReader(store, await readManifest(store));
  }

  /** sha256 of manifest.json as published: identifies the exact dataset a model was trained on. */
  async manifestSha256(): Promise<string> {
    return createHash('sha256')
      .update(await this.store.get(keys.manifest))
      .digest('hex');
  }

  splitNames(): SplitName[] {
    return (Object.keys(this.manifest.splits) as SplitName[]).filter((s) => this.manifest.splits[s]);
  }

  shards(split: SplitName): ShardEntry[] {
    const entry = this.manifest.splits[split];
    if (!entry)
      throw new DatasetError(
        'InvalidArgument',
        `dataset ${this.manifest.name} has no split '${split}' (has ${this.splitNames().join(', ')})`,
      );
    return entry.shards;
  }

  /**
   * Downloads one shard, verifies it, decodes it. The sha256 is computed as the bytes arrive, into a
   * buffer of the size the manifest promises, so verification costs no second pass over the data.
   */
  async readShard(entry: ShardEntry): Promise<ShardColumns> {
    const corrupt = (problem: string) =>
      new DatasetError('ShardCorrupt', `shard ${entry.key} ${problem}: re-import the dataset`, { shard: entry.key });
    let stream: AsyncIterable<Buffer>;
    try {
      stream = await this.store.getStream(entry.key);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'NotFound')
        throw corrupt(`listed in the manifest is missing from ${this.store.url}`);
      throw err;
    }
    const bytes = Buffer.allocUnsafe(entry.bytes);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of stream) {
      if (size + chunk.length <= entry.bytes) chunk.copy(bytes, size);
      hash.update(chunk);
      size += chunk.length;
    }
    if (size !== entry.bytes) throw corrupt(`has ${size} bytes, the manifest says ${entry.bytes}`);
    const sha = hash.digest('hex');
    if (sha !== entry.sha256) throw corrupt(shaProblem(sha, entry.sha256));
    const cols = decodeShard(bytes, entry.key);
    if (cols.count !== entry.count) {
      throw corrupt(`holds ${cols.count} images, the manifest says ${entry.count}`);
    }
    return cols;
  }

  /** Shards of a split in order, `prefetch` downloads ahead of the consumer. */
  async *iterateSplit(split: SplitName, prefetch = 2): AsyncGenerator<ShardColumns> {
    const entries = this.shards(split);
    const ahead: Promise<ShardColumns>[] = [];
    let next = 0;
    const fill = () => {
      while (next < entries.length && ahead.length < prefetch) {
        const p = this.readShard(entries[next++]!);
        p.catch(() => undefined); // observed when its turn comes
        ahead.push(p);
      }
    };
    fill();
    while (ahead.length > 0) {
      const cols = await ahead.shift()!;
      fill();
      yield cols;
    }
  }

  /** A whole split in memory (FER2013's train split is 66 MB). */
  async loadSplit(split: SplitName): Promise<SplitData> {
    const { count } = this.manifest.splits[split] ?? { count: 0 };
    const { height, width } = this.manifest.image;
    const ppi = height * width;
    const out: SplitData = {
      count,
      height,
      width,
      labels: new Uint8Array(count),
      images: new Uint8Array(count * ppi),
      indices: new Uint32Array(count),
    };
    let row = 0;
    for await (const c of this.iterateSplit(split)) {
      out.labels.set(c.labels, row);
      out.images.set(c.pixels, row * ppi);
      out.indices.set(c.indices, row);
      row += c.count;
    }
    return out;
  }

  /** Checks every shard's presence, size and checksum; returns the problems (empty = intact). */
  async verify(onShard?: (key: string, ok: boolean) => void): Promise<VerifyProblem[]> {
    const problems: VerifyProblem[] = [];
    for (const split of this.splitNames()) {
      for (const entry of this.shards(split)) {
        let problem: string | undefined;
        try {
          problem = checkShard(entry, await this.store.get(entry.key));
        } catch (err) {
          if (!(err instanceof StoreError && err.code === 'NotFound')) throw err;
          problem = 'is missing';
        }
        if (problem) problems.push({ shard: entry.key, problem });
        onShard?.(entry.key, !problem);
      }
    }
    return problems;
  }
}

function checkShard(entry: ShardEntry, bytes: Uint8Array): string | undefined {
  if (bytes.length !== entry.bytes) return `has ${bytes.length} bytes, the manifest says ${entry.bytes}`;
  const sha = createHash('sha256').update(bytes).digest('hex');
  return sha === entry.sha256 ? undefined : shaProblem(sha, entry.sha256);
}

function shaProblem(actual: string, expected: string): string {
  return `fails its checksum (sha256 ${actual.slice(0, 12)}…, manifest ${expected.slice(0, 12)}…)`;
}
