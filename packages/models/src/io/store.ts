import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ObjectStore } from '@fersweep/storage';
import { z } from 'zod';
import { ModelError } from '../variants/errors.js';
import { artifactsFromModel, modelFromArtifacts, type SaveModelOptions } from './artifacts.js';

/** The topology file's key in a model folder. */
export const MODEL_JSON = 'model.json';
/** The weights file's key in a model folder that {@link saveModel} writes (one file, no shards). */
export const WEIGHTS_BIN = 'weights.bin';

/** One file {@link saveModel} wrote. */
export interface SavedFile {
  key: string;
  bytes: number;
  /** Hex sha256 of the bytes written. */
  sha256: string;
}

/** What {@link saveModel} wrote: weights.bin, then model.json. */
export interface SavedModel {
  files: SavedFile[];
}

/** Where a model.json records its weights files' checksums (tfjs loaders ignore unknown top-level keys). */
const CHECKSUMS_KEY = 'fersweepWeights';

const Checksums = z.record(z.string(), z.object({ bytes: z.number().int().min(0), sha256: z.string() }));

const WeightEntry = z.looseObject({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
  group: z.string().optional(),
  quantization: z
    .looseObject({
      dtype: z.enum(['uint8', 'uint16', 'float16']),
      scale: z.number().optional(),
      min: z.number().optional(),
    })
    .optional(),
});

/** The parts of a tfjs model.json this module relies on (tfjs itself checks the topology). */
const ModelJsonFile = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(z.looseObject({ paths: z.array(z.string().min(1)), weights: z.array(WeightEntry) })),
  trainingConfig: z.record(z.string(), z.unknown()).optional(),
  [CHECKSUMS_KEY]: Checksums.optional(),
});

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The files of a tfjs LayersModel folder for `model`, in the order to write them: `weights.bin` (all weights in
 * one file, plus the optimizer's when `includeOptimizer`), then `model.json` (topology, weights manifest, training
 * config, and the size and sha256 of weights.bin, which {@link loadModel} checks).
 */
export async function modelFolderFiles(
  model: tf.LayersModel,
  options: SaveModelOptions = {},
): Promise<{ key: string; bytes: Uint8Array; contentType: string }[]> {
  const artifacts = await artifactsFromModel(model, options);
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson: tf.io.ModelJSON & { [CHECKSUMS_KEY]: z.infer<typeof Checksums> } = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology as object,
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    [CHECKSUMS_KEY]: { [WEIGHTS_BIN]: { bytes: weights.byteLength, sha256: sha256(weights) } },
  };
  return [
    { key: WEIGHTS_BIN, bytes: weights, contentType: 'application/octet-stream' },
    { key: MODEL_JSON, bytes: Buffer.from(JSON.stringify(modelJson)), contentType: 'application/json' },
  ];
}

/**
 * Saves a model into `store` as a tfjs LayersModel folder ({@link modelFolderFiles}): weights.bin, then
 * model.json, so a reader that finds model.json finds the weights it names. Loadable by `tf.loadLayersModel` over
 * HTTP as well. Returns each file's size and sha256.
 */
export async function saveModel(
  model: tf.LayersModel,
  store: ObjectStore,
  options: SaveModelOptions = {},
): Promise<SavedModel> {
  const files: SavedFile[] = [];
  for (const { key, bytes, contentType } of await modelFolderFiles(model, options)) {
    await store.put(key, bytes, { contentType });
    files.push({ key, bytes: bytes.byteLength, sha256: sha256(bytes) });
  }
  return { files };
}

/** Bytes one manifest entry occupies in the weights files (undefined for strings, whose size is in the data). */
function entryBytes(entry: z.infer<typeof WeightEntry>): number | undefined {
  const size = entry.shape.reduce((a, b) => a * b, 1);
  const q = entry.quantization?.dtype;
  if (q !== undefined) return size * (q === 'uint8' ? 1 : 2);
  switch (entry.dtype) {
    case 'float32':
    case 'int32':
      return size * 4;
    case 'bool':
      return size;
    case 'complex64':
      return size * 8;
    case 'string':
      return undefined;
  }
}

/** The folder part of a key (`a/b/model.json` → `a/b/`), '' at the root. */
function folderOf(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i + 1);
}

/**
 * Reads a tfjs LayersModel folder (ours, or tensorflowjs_converter's `model.json` + `group1-shard1ofN.bin`)
 * into ModelArtifacts without building a model. Weights files are read relative to the model.json key. Checks
 * that the weights files hold exactly the bytes the manifest describes and, for files {@link saveModel} wrote,
 * their sha256. Store errors (a missing model.json is StoreError 'NotFound') propagate unchanged.
 * Throws ModelError 'InvalidArtifacts' for a model.json that is not a LayersModel's, 'CorruptArtifacts' for
 * weights of the wrong size or checksum.
 */
export async function readArtifacts(store: ObjectStore, key: string = MODEL_JSON): Promise<tf.io.ModelArtifacts> {
  const where = { artifact: `${store.url}/${key}` };
  const raw = await store.get(key);
  let parsed: z.infer<typeof ModelJsonFile>;
  try {
    parsed = ModelJsonFile.parse(JSON.parse(raw.toString('utf8')));
  } catch (err) {
    throw new ModelError(
      'InvalidArtifacts',
      `${where.artifact} is not a tfjs LayersModel model.json (topology and weightsManifest): ${(err as Error).message}`,
      where,
      { cause: err },
    );
  }
  const checksums = parsed[CHECKSUMS_KEY] ?? {};
  const folder = folderOf(key);
  const modelJson = parsed as unknown as tf.io.ModelJSON;
  return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const path of group.paths) {
        const bytes = await store.get(folder + path);
        const recorded = checksums[path];
        if (recorded !== undefined && (recorded.bytes !== bytes.byteLength || recorded.sha256 !== sha256(bytes))) {
          throw new ModelError(
            'CorruptArtifacts',
            `${store.url}/${folder}${path} does not match the size and sha256 model.json recorded for it ` +
              `(${bytes.byteLength} bytes vs ${recorded.bytes}): save the model again`,
            { artifact: `${store.url}/${folder}${path}` },
          );
        }
        // A Buffer may be a view into a larger pool: copy out exactly its bytes.
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      }
    }
    const data = tf.io.CompositeArrayBuffer.join(buffers);
    const needed = parsed.weightsManifest
      .flatMap((g) => g.weights)
      .map(entryBytes)
      .reduce<number | undefined>((a, b) => (a === undefined || b === undefined ? undefined : a + b), 0);
    if (needed !== undefined && needed !== data.byteLength) {
      throw new ModelError(
        'CorruptArtifacts',
        `${where.artifact}: its weights files hold ${data.byteLength} bytes but its manifest describes ${needed}`,
        where,
      );
    }
    return [specs, data];
  });
}

/**
 * Loads a model {@link saveModel} wrote (or any tfjs LayersModel folder) from `store`: compiled when model.json
 * has a training config, with the optimizer's state when it was saved with `includeOptimizer`, so that
 * training continues exactly where it stopped. Errors as {@link readArtifacts} and `modelFromArtifacts`.
 */
export async function loadModel(store: ObjectStore, key: string = MODEL_JSON): Promise<tf.LayersModel> {
  return modelFromArtifacts(await readArtifacts(store, key));
}
