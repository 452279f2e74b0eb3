import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { synthesize } from '@fersweep/dataset';
import { openStore, type ObjectStore } from '@fersweep/storage';
import { initTf } from '@fersweep/tfjs-train-wasm';
import { labelTensor } from './common.js';
import type { ModelInput } from './types.js';

/** FER2013's image: 48×48 grayscale, 7 classes. */
export const FER_INPUT: ModelInput = { height: 48, width: 48, channels: 1, numClasses: 7 };

/** The wasm backend with the project's training kernels, as the trainer runs it here. */
export async function useWasm(): Promise<void> {
  await initTf({ prefer: 'wasm' });
}

/** Synthetic FER faces as model input: pixels rescaled to [0, 1], one-hot labels. Dispose both. */
export function syntheticFaces(count: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D; labels: number[] } {
  const images = [
    ...synthesize({
      count,
      seed,
      classWeights: [1, 1, 1, 1, 1, 1, 1],
      usageFractions: { training: 1, publicTest: 0, privateTest: 0 },
    }),
  ];
  const pixels = new Float32Array(count * 48 * 48);
  images.forEach((image, i) => {
    for (let j = 0; j < image.pixels.length; j++) pixels[i * 2304 + j] = (image.pixels[j] as number) / 255;
  });
  const labels = images.map((image) => image.label);
  return { xs: tf.tensor4d(pixels, [count, 48, 48, 1]), ys: labelTensor(labels, 7), labels };
}

/** Accuracy of `model` on (xs, labels) in inference mode. */
export function accuracy(model: tf.LayersModel, xs: tf.Tensor, labels: readonly number[]): number {
  const predicted = tf.tidy(() => (model.predict(xs) as tf.Tensor).argMax(-1).dataSync());
  return labels.filter((l, i) => predicted[i] === l).length / labels.length;
}

/** A file store in a fresh temporary folder; `cleanup` removes it. */
export async function tempStore(): Promise<{ store: ObjectStore; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fersweep-models-'));
  return { store: openStore(dir), dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every weight of `model` as plain arrays, by weight name (for before/after comparisons). */
export function weightValues(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}
