import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../variants/errors.js';
import { layerGraph, portableModel } from './graph.js';

/**
 * The Keras version the file's attributes name: the HDF5 layout written here is Keras 2's (`model.save('x.h5')` in
 * TF 2.x), which Keras 3 also loads through its legacy HDF5 reader. Keras reads the attribute only to convert
 * Keras 1 files.
 */
export const KERAS_H5_VERSION = '2.15.0';

/** A Keras model config (`model.to_json()`) as tfjs' topology gives it, with Keras' class name for the model. */
export function kerasModelConfig(model: tf.LayersModel): Record<string, unknown> {
  // tfjs serialises LayersModels in Keras' own JSON format (snake_case keys, Keras class names).
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  return {
    ...topology,
    // Keras ≥ 2.4 names a functional model 'Functional' ('Model' is tfjs' name for the same thing).
    class_name: topology['class_name'] === 'Model' ? 'Functional' : topology['class_name'],
    keras_version: KERAS_H5_VERSION,
    backend: 'tensorflow',
  };
}

interface H5Group {
  create_group(name: string): H5Group;
  create_attribute(name: string, data: string | string[]): void;
  create_dataset(args: { name: string; data: Float32Array; shape: number[]; dtype: string }): unknown;
}

interface H5File extends H5Group {
  close(): void;
}

type H5Module = { ready: Promise<unknown>; File: new (file: string, mode: 'w' | 'r') => H5File };

/**
 * Writes `model` as a Keras HDF5 file (what `keras.Model.save('model.h5')` writes, without a training config):
 * root attributes `model_config` (JSON), `keras_version`, `backend`; group `model_weights` with `layer_names`,
 * and per layer a group with `weight_names` and datasets `model_weights/<layer>/<layer>/<weight>:0` in Keras'
 * weight order and layout (tfjs uses the same: conv kernels [kh, kw, in, out], dense [in, out]; BatchNorm γ, β,
 * moving mean, moving variance). Written with h5wasm (HDF5 compiled to WebAssembly) to a temporary name, then
 * renamed, so `file` is complete or absent. A model with the legacy ResizeImages layer is written in its portable
 * form. Throws ModelError 'UnsupportedExport' when the model is not a single-input functional model.
 */
export async function exportKerasH5(model: tf.LayersModel, file: string): Promise<void> {
  const h5 = (await import('h5wasm/node')) as unknown as H5Module;
  await h5.ready;
  const portable = portableModel(model);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.part`);
  try {
    const graph = layerGraph(portable);
    const f = new h5.File(path.resolve(tmp), 'w');
    try {
      f.create_attribute('keras_version', KERAS_H5_VERSION);
      f.create_attribute('backend', 'tensorflow');
      f.create_attribute('model_config', JSON.stringify(kerasModelConfig(portable)));
      const weights = f.create_group('model_weights');
      weights.create_attribute('keras_version', KERAS_H5_VERSION);
      weights.create_attribute('backend', 'tensorflow');
      weights.create_attribute(
        'layer_names',
        graph.layers.map((l) => l.name),
      );
      for (const layer of graph.layers) {
        const group = weights.create_group(layer.name);
        const names = layer.weights.map((w) => `${layer.name}/${w.name}:0`);
        group.create_attribute('weight_names', names);
        if (layer.weights.length === 0) continue;
        const inner = group.create_group(layer.name);
        for (const w of layer.weights) {
          inner.create_dataset({ name: `${w.name}:0`, data: w.values, shape: w.shape, dtype: '<f' });
        }
      }
    } finally {
      f.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof ModelError) throw err;
    throw new ModelError(
      'UnsupportedExport',
      `Keras HDF5 export to ${file} failed: ${(err as Error).message}`,
      {},
      {
        cause: err,
      },
    );
  } finally {
    if (portable !== model) portable.dispose();
  }
}
