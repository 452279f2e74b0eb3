import { createHash } from 'node:crypto';
import { keys } from '@fersweep/contracts';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import { z } from 'zod';
import { readKerasWeights, type KerasWeightsFile } from '../io/keras-h5.js';
import { ModelError } from '../variants/errors.js';
import { MOBILENETV2_ALPHAS, parseKerasMobileNetV2FileName } from '../variants/mobilenetv2-layout.js';
import { inferMobileNetV2Alpha } from './keras-mobilenetv2.js';

/**
 * Keras weight files in the object store, so that a cluster downloads (or a user imports) each one once:
 *
 *   pretrained/keras/<sha256>.h5               the file, content-addressed
 *   pretrained/keras/index/<file name>.json    { name, sha256, bytes, alpha, … }, written after the file
 *
 * The index entry's sha256 is recorded when the file first enters the store (keras publishes no checksums for
 * these files) and every later read is checked against it.
 */

/** A file name as it may appear in the index: keras' own names, or a user's `--name`. */
export const KerasWeightsName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name of letters, digits, ".", "_" and "-"');

export const KerasWeightsIndexEntry = z.object({
  format: z.literal('fersweep-keras-weights/v1'),
  name: KerasWeightsName,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(1),
  model: z.literal('mobilenetv2'),
  alpha: z.literal(MOBILENETV2_ALPHAS),
  /** Where the bytes came from: a download URL, or `import:<local file name>`. */
  source: z.string(),
  storedAt: z.string(),
});
export type KerasWeightsIndexEntry = z.infer<typeof KerasWeightsIndexEntry>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What is in the store under `name`, or undefined. Throws ModelError 'CorruptArtifacts' when the bytes changed. */
export async function findStoredKerasWeights(
  root: ObjectStore,
  name: string,
): Promise<{ entry: KerasWeightsIndexEntry; bytes: Buffer; url: string } | undefined> {
  let raw: Buffer;
  try {
    raw = await root.get(keys.kerasWeightsIndex(name));
  } catch (err) {
    if (err instanceof StoreError && err.code === 'NotFound') return undefined;
    throw err;
  }
  const indexUrl = `${root.url}/${keys.kerasWeightsIndex(name)}`;
  let entry: KerasWeightsIndexEntry;
  try {
    entry = KerasWeightsIndexEntry.parse(JSON.parse(raw.toString('utf8')));
  } catch (err) {
    throw new ModelError(
      'CorruptArtifacts',
      `${indexUrl} is not a keras weights index entry: delete it and import the file again`,
      {
        artifact: indexUrl,
      },
      { cause: err },
    );
  }
  const key = keys.kerasWeights(entry.sha256);
  const url = `${root.url}/${key}`;
  const bytes = await root.get(key);
  if (bytes.length !== entry.bytes || sha256(bytes) !== entry.sha256) {
    throw new ModelError(
      'CorruptArtifacts',
      `${url} does not match the sha256/size recorded in ${indexUrl}: delete both and import the file again`,
      { artifact: url },
    );
  }
  return { entry, bytes, url };
}

/**
 * Validates `bytes` as a keras MobileNetV2 no-top weight file (HDF5, keras layout, every layer's shape; α from
 * the shapes, and agreeing with the α in `name` when it is a keras file name), then stores it content-addressed
 * and indexes it under `name` (the file first, the index last); `source` is recorded in the index, `label` names
 * the file in errors. Returns the entry, the parsed file and the
 * object's URL. Throws ModelError 'InvalidArtifacts' / 'IncompatiblePretrained' naming what does not fit.
 */
export async function storeKerasWeights(
  root: ObjectStore,
  bytes: Uint8Array,
  name: string,
  source: string,
  label: string = source,
): Promise<{ entry: KerasWeightsIndexEntry; file: KerasWeightsFile; url: string }> {
  const parsedName = KerasWeightsName.safeParse(name);
  if (!parsedName.success) {
    throw new ModelError('InvalidParams', `weight file name '${name}' must be ${parsedName.error.issues[0]?.message}`, {
      field: 'name',
    });
  }
  const file = await readKerasWeights(bytes, label);
  const alpha = inferMobileNetV2Alpha(file, label);
  const named = parseKerasMobileNetV2FileName(name);
  if (named !== undefined && named.alpha !== alpha) {
    throw new ModelError(
      'IncompatiblePretrained',
      `${label} holds MobileNetV2 α ${alpha} weights, but its name ${name} says α ${named.alpha}: give it its right name with --name`,
      { artifact: label },
    );
  }
  const entry: KerasWeightsIndexEntry = {
    format: 'fersweep-keras-weights/v1',
    name,
    sha256: sha256(bytes),
    bytes: bytes.length,
    model: 'mobilenetv2',
    alpha,
    source,
    storedAt: new Date().toISOString(),
  };
  const key = keys.kerasWeights(entry.sha256);
  // Content-addressed: an object already there under this key holds these very bytes.
  if ((await root.head(key))?.bytes !== bytes.length) {
    await root.put(key, bytes, { contentType: 'application/x-hdf5' });
  }
  await root.put(keys.kerasWeightsIndex(name), `${JSON.stringify(entry, null, 2)}\n`, {
    contentType: 'application/json',
  });
  return { entry, file, url: `${root.url}/${key}` };
}
