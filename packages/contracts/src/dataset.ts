import { z } from 'zod';
import { EMOTIONS, NUM_CLASSES } from './labels.js';

export const DATASET_FORMAT = 'fersweep-dataset/v1' as const;
/** Shard files are Apache Arrow IPC (file format), one record batch per shard. */
export const SHARD_FORMAT = 'arrow-ipc-file' as const;
export const SHARD_EXTENSION = 'arrow' as const;

export const SPLITS = ['train', 'val', 'test', 'test2'] as const;
export const SplitName = z.enum(SPLITS);
export type SplitName = z.infer<typeof SplitName>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const Count = z.number().int().nonnegative();

export const ShardEntry = z.object({
  /** Key relative to the dataset root, e.g. "shards/train-00000.arrow". */
  key: z.string().regex(/^shards\/[a-z0-9]+-\d{5}\.[a-z]+$/),
  count: Count,
  sha256: Sha256,
  bytes: Count,
});
export type ShardEntry = z.infer<typeof ShardEntry>;

export const SplitEntry = z
  .object({
    count: Count,
    classCounts: z.array(Count).length(NUM_CLASSES),
    shards: z.array(ShardEntry),
  })
  .superRefine((s, ctx) => {
    const byShards = s.shards.reduce((a, sh) => a + sh.count, 0);
    const byClass = s.classCounts.reduce((a, c) => a + c, 0);
    if (byShards !== s.count)
      ctx.addIssue({ code: 'custom', message: `shard counts sum to ${byShards}, split count is ${s.count}` });
    if (byClass !== s.count)
      ctx.addIssue({ code: 'custom', message: `classCounts sum to ${byClass}, split count is ${s.count}` });
  });
export type SplitEntry = z.infer<typeof SplitEntry>;

export const DatasetSourceKind = z.enum(['fer2013-csv', 'folder', 'synthetic']);
export type DatasetSourceKind = z.infer<typeof DatasetSourceKind>;

/** manifest.json at a dataset's root, written last: its presence means the dataset is complete. */
export const DatasetManifest = z.object({
  format: z.literal(DATASET_FORMAT),
  name: z.string().min(1),
  createdAt: z.string().datetime(),
  image: z.object({ height: z.number().int().positive(), width: z.number().int().positive(), channels: z.literal(1) }),
  classes: z.array(z.string()).length(NUM_CLASSES),
  shardFormat: z.literal(SHARD_FORMAT).default(SHARD_FORMAT),
  source: z.object({
    kind: DatasetSourceKind,
    /** sha256 of the imported file (csv) or of the sorted file list + contents (folder); of the generator parameters (synthetic). */
    sha256: Sha256,
    seed: z.number().int(),
    /** Original location, for the record (a path or URL). */
    uri: z.string().optional(),
    valFraction: z.number().min(0).max(1).optional(),
    /** Share of Training held out as the test split, stratified by class, when the source had no test rows. */
    testFraction: z.number().min(0).max(1).optional(),
  }),
  splits: z.object({
    train: SplitEntry,
    val: SplitEntry,
    test: SplitEntry,
    test2: SplitEntry.optional(),
  }),
});
export type DatasetManifest = z.infer<typeof DatasetManifest>;

/** One labelled 48×48 grayscale image: pixels row-major, 0–255. */
export interface Sample {
  label: number;
  pixels: Uint8Array;
}

export const DEFAULT_CLASSES: string[] = [...EMOTIONS];
