import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Debian's python, which has h5py (`python3-h5py`; scripts/test.sh installs it where missing). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** One weight of a fixture as the generator wrote it: the values the loaded model must hold, bit for bit. */
export interface KerasFixtureWeight {
  layer: string;
  param: string;
  shape: number[];
  values: Float32Array;
}

export interface KerasFixtureOptions {
  /** Leave this layer out of the file. */
  drop?: string;
  /** Give this layer's first weight one channel too many. */
  wrongShape?: string;
  /** Nest the weights in `model_weights`, as keras' `model.save('x.h5')` does. */
  wholeModel?: boolean;
  /** Split `layer_names` into `layer_names0`, `layer_names1`, as keras does past 64 KiB. */
  chunkLayerNames?: boolean;
}

function script(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'keras_mobilenetv2_fixture.py');
  return existsSync(beside) ? beside : path.join(here, '../src/keras_mobilenetv2_fixture.py');
}

/**
 * Writes `file` as a keras.applications MobileNetV2(alpha, include_top=False) HDF5 weight file with random
 * weights (seeded), in Keras 2's exact layout, with h5py — an independent writer, so that a reader is tested
 * against what Keras' own library produces. Returns every weight's values as written.
 */
export async function writeKerasMobileNetV2Fixture(
  file: string,
  alpha: number,
  seed: number,
  options: KerasFixtureOptions = {},
): Promise<KerasFixtureWeight[]> {
  const args = [script(), file, String(alpha), String(seed)];
  if (options.drop !== undefined) args.push('--drop', options.drop);
  if (options.wrongShape !== undefined) args.push('--wrong-shape', options.wrongShape);
  if (options.wholeModel) args.push('--whole-model');
  if (options.chunkLayerNames) args.push('--chunk-layer-names');
  await promisify(execFile)(DEBIAN_PYTHON, args);
  const truth = JSON.parse(await readFile(`${file}.truth.json`, 'utf8')) as {
    layer: string;
    param: string;
    shape: number[];
    offset: number;
  }[];
  const bytes = await readFile(`${file}.truth.bin`);
  return truth.map(({ layer, param, shape, offset }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    Buffer.from(values.buffer).set(bytes.subarray(offset, offset + count * 4));
    return { layer, param, shape, values };
  });
}
