import {
  DATASET_FORMAT,
  DatasetManifest,
  EMOTIONS,
  FER_IMAGE,
  keys,
  type SplitName,
  type SplitEntry,
} from '@fersweep/contracts';
import type { ObjectStore } from '@fersweep/storage';
import { DatasetError } from './errors.js';
import { writeExploration } from './explore.js';
import type { DatasetSource, SourceProgress } from './sources/types.js';
import { StratifiedSplitter } from './split.js';
import { DatasetWriter } from './writer.js';

export interface ImportOptions {
  source: DatasetSource;
  /** The dataset root (manifest.json and shards/ go directly under it). */
  store: ObjectStore;
  name: string;
  /** Share of Training that becomes val (stratified by class), default 0.1. */
  valFraction?: number;
  /**
   * Share of Training held out as the test split (stratified by class, seeded) when the source has
   * no test rows (`providesTest: false`, e.g. a Kaggle folder without `test/`); default 0.1. Ignored
   * for sources that carry their own test split.
   */
  testFraction?: number;
  seed?: number;
  shardSize?: number;
  /** Replace an existing dataset at the destination (it is unpublished first). */
  force?: boolean;
  /** Write explore/class-distribution.png and explore/samples.png (default true). */
  explore?: boolean;
  onProgress?: (p: SourceProgress & { phase: 'read' | 'finish' }) => void;
}

const EMPTY_SPLIT: SplitEntry = { count: 0, classCounts: [0, 0, 0, 0, 0, 0, 0], shards: [] };
const SAMPLES_PER_CLASS = 10;

/**
 * Imports a source into a published dataset: rows are split (Training → train + val, stratified
 * and seeded; PublicTest → test; PrivateTest → test2; a source without test rows gets a stratified
 * test split held out of Training first, `testFraction` of it, recorded in the manifest), written as checksummed Arrow shards, then
 * the exploration figures, and manifest.json LAST — a reader never sees a half-imported dataset.
 * On any failure the shards written so far are deleted and no manifest is written.
 */
export async function importDataset(options: ImportOptions): Promise<DatasetManifest> {
  const { source, store, name } = options;
  const valFraction = options.valFraction ?? 0.1;
  const seed = options.seed ?? 0;
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new DatasetError('InvalidArgument', `--val-fraction must be in [0, 1), got ${valFraction}`, {
      field: 'valFraction',
    });
  }
  const testFraction = source.providesTest === false ? (options.testFraction ?? 0.1) : undefined;
  if (testFraction !== undefined && !(testFraction > 0 && testFraction < 1)) {
    throw new DatasetError(
      'InvalidArgument',
      `${source.uri} has no test images, so a test split is held out of its training images: --test-fraction must be in (0, 1), got ${testFraction}`,
      { field: 'testFraction' },
    );
  }
  if (await store.head(keys.manifest)) {
    if (!options.force) {
      throw new DatasetError(
        'DatasetExists',
        `a dataset already exists at ${store.url}: choose another --out or pass --force to replace it`,
      );
    }
    await store.delete(keys.manifest); // unpublish before touching the shards it lists
    await store.deletePrefix('shards/');
    await store.deletePrefix(`${keys.exploreDir}/`);
  }

  const splitter = new StratifiedSplitter(valFraction, seed);
  // Its own seed stream, so the test hold-out does not mirror the val choice block by block.
  const testSplitter = testFraction !== undefined ? new StratifiedSplitter(testFraction, seed ^ 0x7e57) : undefined;
  const writer = new DatasetWriter(store, {
    height: FER_IMAGE.height,
    width: FER_IMAGE.width,
    ...(options.shardSize ? { shardSize: options.shardSize } : {}),
  });
  const samples: Uint8Array[][] = EMOTIONS.map(() => []);
  try {
    for await (const row of source.rows((p) => options.onProgress?.({ ...p, phase: 'read' }))) {
      let split: SplitName;
      if (row.split === 'val') split = 'val';
      else if (row.usage === 'Training' && testSplitter?.assign(row.label) === 'val') split = 'test';
      else if (row.usage === 'Training') split = source.providesValidation ? 'train' : splitter.assign(row.label);
      else split = row.usage === 'PublicTest' ? 'test' : 'test2';
      await writer.add(split, row.label, row.pixels, row.index);
      if (split === 'train' && samples[row.label]!.length < SAMPLES_PER_CLASS)
        samples[row.label]!.push(row.pixels.slice());
    }
    const splits = await writer.finish(['train', 'val', 'test']);
    const manifest = DatasetManifest.parse({
      format: DATASET_FORMAT,
      name,
      createdAt: new Date().toISOString(),
      image: { ...FER_IMAGE },
      classes: [...EMOTIONS],
      source: {
        kind: source.kind,
        sha256: source.sha256(),
        seed,
        uri: source.uri,
        ...(source.providesValidation ? {} : { valFraction }),
        ...(testFraction !== undefined ? { testFraction } : {}),
      },
      splits: {
        train: splits.train ?? EMPTY_SPLIT,
        val: splits.val ?? EMPTY_SPLIT,
        test: splits.test ?? EMPTY_SPLIT,
        ...(splits.test2 ? { test2: splits.test2 } : {}),
      },
    });
    if (manifest.splits.train.count === 0) {
      throw new DatasetError('InvalidArgument', `${source.uri}: no Training rows, nothing to train on`);
    }
    options.onProgress?.({ phase: 'finish', done: 0, total: 1, unit: 'files' });
    if (options.explore !== false) await writeExploration(store, manifest, samples);
    await store.put(keys.manifest, JSON.stringify(manifest, null, 2) + '\n', { contentType: 'application/json' });
    return manifest;
  } catch (err) {
    await writer.abort();
    if (options.explore !== false) await store.deletePrefix(`${keys.exploreDir}/`).catch(() => 0);
    throw err;
  }
}
