import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type H5Module from 'h5wasm/node';
import { ModelError } from '../variants/errors.js';

/**
 * Keras 2 HDF5 weight files (`model.save_weights('x.h5')`, the keras.applications downloads, and the
 * `model_weights` group of a whole-model `model.save('x.h5')`), read with h5wasm (the HDF5 C library compiled
 * to wasm, so no native build). The layout, as keras' `save_weights_to_hdf5_group` writes it:
 *
 *   /                      attrs layer_names (every layer, in model order; chunked as layer_names0, 1, … when
 *                          over 64 KiB), backend, keras_version
 *   /<layer>               a group per layer (weightless ones too), attr weight_names (['Conv1/kernel:0'], in
 *                          the layer's weight order)
 *   /<layer>/<weight name> a float dataset per weight, e.g. /Conv1/Conv1/kernel:0
 *
 * The file is read whole into plain arrays: a writer can produce the same `KerasWeightsFile` back.
 */

/** One weight as keras stores it. */
export interface KerasWeight {
  /** The name in `weight_names`, e.g. `block_1_expand_BN/moving_mean:0`. */
  name: string;
  /** The parameter, without scopes or the `:0` suffix: `moving_mean`, `kernel`, `depthwise_kernel`. */
  param: string;
  shape: number[];
  values: Float32Array;
}

/** A layer's group: its weights in keras' order (empty for weightless layers). */
export interface KerasLayerWeights {
  name: string;
  weights: KerasWeight[];
}

/** A Keras 2 HDF5 weight file's content. */
export interface KerasWeightsFile {
  /** Root attribute `backend` (`tensorflow`). */
  backend: string | undefined;
  /** Root attribute `keras_version`, e.g. `2.1.6`. */
  kerasVersion: string | undefined;
  /** Every layer in `layer_names` order. */
  layers: KerasLayerWeights[];
}

/** The weights of one layer by name, or undefined. */
export function kerasLayer(file: KerasWeightsFile, name: string): KerasLayerWeights | undefined {
  return file.layers.find((l) => l.name === name);
}

/** `block_1_expand_BN/moving_mean:0` → `moving_mean`. */
export function kerasParamName(weightName: string): string {
  return weightName.slice(weightName.lastIndexOf('/') + 1).replace(/:\d+$/, '');
}

type H5 = typeof H5Module;
let h5: Promise<H5> | undefined;

/** h5wasm, loaded and initialised on first use (its wasm module is ~3 MB). */
function loadH5wasm(): Promise<H5> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    const module = await m.default.ready;
    // HDF5 errors become exceptions instead of diagnostics printed to stderr.
    module.activate_throwing_error_handler();
    return m.default;
  });
  return h5;
}

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5's superblock signature sits at 0 or, after a user block, at 512, 1024, 2048, …. */
export function isHdf5(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + SIGNATURE.length <= b.length; at = at === 0 ? 512 : at * 2) {
    if (b.subarray(at, at + SIGNATURE.length).equals(SIGNATURE)) return true;
  }
  return false;
}

/** HDF5's error stack as one line: its innermost entry's description (`truncated file: eof = …`). */
function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const entries = text.split('\n').filter((l) => /#\d+:.*\(\): /.test(l));
  const last = entries[entries.length - 1];
  return last === undefined
    ? text.split('\n')[0]?.trim() || 'unknown error'
    : last.slice(last.indexOf('(): ') + 4).trim();
}

type Attrs = Record<string, { value: unknown }>;
interface H5Group {
  attrs: Attrs;
  keys(): string[];
  get(name: string): unknown;
}
interface H5Dataset {
  type: string;
  shape: number[] | null;
  value: unknown;
}

function strings(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map(String);
  // an empty attribute (keras writes np.asarray([]) for a weightless layer) comes back as an empty typed array
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<unknown>).length === 0) return [];
  throw new Error(`expected strings, found ${Object.prototype.toString.call(value)}`);
}

/** keras' load_attributes_from_hdf5_group: `name`, or `name0`, `name1`, … when it was chunked. */
function stringList(group: H5Group, name: string): string[] | undefined {
  if (name in group.attrs) return strings(group.attrs[name]?.value);
  if (!(`${name}0` in group.attrs)) return undefined;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in group.attrs; i++) out.push(...strings(group.attrs[`${name}${i}`]?.value));
  return out;
}

function stringAttr(group: H5Group, name: string): string | undefined {
  const v = name in group.attrs ? group.attrs[name]?.value : undefined;
  return typeof v === 'string' ? v : undefined;
}

/**
 * Reads a Keras 2 HDF5 weight file (bytes, or a local path) whole. `source` names it in errors. Throws
 * ModelError 'InvalidArtifacts' when it is not HDF5, has no `layer_names` (e.g. a Keras 3 `.weights.h5`), or a
 * weight is missing or not floating point.
 */
export async function readKerasWeights(input: Uint8Array | string, source: string): Promise<KerasWeightsFile> {
  const invalid = (why: string) =>
    new ModelError('InvalidArtifacts', `${source} is not a Keras HDF5 weight file: ${why}`, { artifact: source });
  let file: string;
  let temp: string | undefined;
  if (typeof input === 'string') {
    file = path.resolve(input);
    const head = await readFile(file).catch((err: unknown) => {
      throw invalid((err as Error).message);
    });
    if (!isHdf5(head)) throw invalid('no HDF5 signature');
  } else {
    if (!isHdf5(input)) throw invalid('no HDF5 signature');
    // h5wasm's node build opens files by path (its emscripten FS is the real one).
    temp = file = path.join(os.tmpdir(), `fersweep-keras-${randomUUID()}.h5`);
    await writeFile(temp, input, { mode: 0o600 });
  }
  const h5wasm = await loadH5wasm();
  let f: InstanceType<H5['File']> | undefined;
  try {
    try {
      f = new h5wasm.File(file, 'r');
    } catch (err) {
      throw invalid(`HDF5 cannot open it (${hdf5Reason(err)})`);
    }
    let root = f as unknown as H5Group;
    const nested = f.get('model_weights') as unknown as H5Group | null;
    if (!('layer_names' in root.attrs) && nested !== null && typeof nested === 'object' && 'attrs' in nested) {
      root = nested;
    }
    const layerNames = stringList(root, 'layer_names');
    if (layerNames === undefined) {
      throw invalid(
        'no layer_names attribute (Keras 2 save_weights layout expected; Keras 3 .weights.h5 is not supported)',
      );
    }
    const layers: KerasLayerWeights[] = layerNames.map((name) => {
      const group = root.get(name) as H5Group | null;
      if (group === null || typeof group !== 'object' || !('attrs' in group)) {
        throw invalid(`layer ${name} is listed in layer_names but has no group`);
      }
      const weightNames = stringList(group, 'weight_names') ?? [];
      return {
        name,
        weights: weightNames.map((wn) => {
          const d = group.get(wn) as H5Dataset | null;
          if (d === null || typeof d !== 'object' || !('shape' in d)) throw invalid(`${name}: no dataset ${wn}`);
          const value = d.value;
          let values: Float32Array;
          if (value instanceof Float32Array) values = value;
          else if (value instanceof Float64Array) values = Float32Array.from(value);
          else throw invalid(`${name}/${wn} is not a float32 or float64 array`);
          return { name: wn, param: kerasParamName(wn), shape: d.shape ?? [], values };
        }),
      };
    });
    return { backend: stringAttr(root, 'backend'), kerasVersion: stringAttr(root, 'keras_version'), layers };
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw invalid(`HDF5 cannot read it (${hdf5Reason(err)})`);
  } finally {
    f?.close();
    if (temp !== undefined) await rm(temp, { force: true });
  }
}
