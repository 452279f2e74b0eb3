import * as tf from '@tensorflow/tfjs';
import type { Layer } from './common.js';

/**
 * Names of the layers {@link applyResize} adds, in order. The last one is named `resize`, as the legacy
 * `ResizeImages` layer was, so `model.getLayer('resize')` still gives the resized image.
 */
export const RESIZE_LAYERS = {
  toChannelsFirst: 'resize_channels_first',
  width: 'resize_width',
  transpose: 'resize_transpose',
  height: 'resize_height',
  toChannelsLast: 'resize',
} as const;

const KERNEL_NAMES = new Set<string>([RESIZE_LAYERS.width, RESIZE_LAYERS.height]);

/**
 * The matrix `[from, to]` of 1-D bilinear resampling with half-pixel centres (TF 2's `tf.image.resize`, Keras'
 * `Resizing`, tfjs' `resizeBilinear(…, halfPixelCenters = true)`, ONNX Resize `half_pixel`): output `o` reads
 * source position `(o + 0.5) · from / to − 0.5`, clamped to the edge pixels. Bilinear resizing is separable, so an
 * image resizes as `Rₕᵀ · X · R_w`.
 */
export function bilinearResizeMatrix(from: number, to: number): Float32Array {
  const m = new Float32Array(from * to);
  const scale = from / to;
  for (let o = 0; o < to; o++) {
    const source = (o + 0.5) * scale - 0.5;
    const floor = Math.floor(source);
    const top = Math.max(0, floor);
    const bottom = Math.min(from - 1, Math.ceil(source));
    const lerp = source - floor;
    m[top * to + o] = (m[top * to + o] ?? 0) + (1 - lerp);
    m[bottom * to + o] = (m[bottom * to + o] ?? 0) + lerp;
  }
  return m;
}

/**
 * Resizes `x` `[n, h, w, c]` to `[n, height, width, c]` bilinearly (half-pixel centres) with standard layers only —
 * Permute, a frozen bias-free Dense along the width, Permute, a frozen Dense along the height, Permute — so the
 * saved model.json loads with a plain `tf.loadLayersModel`, and Keras (Permute, Dense on the last axis) and ONNX
 * (Transpose, MatMul) express it exactly. Computes what the legacy `ResizeImages` layer computed.
 *
 * tfjs-layers 4.22 offers no standard layer that does this: `Resizing` reports `[height, width, channels]` as its
 * output shape (no batch axis; `inputShape[2]` as channels) and resizes with aligned corners, and `UpSampling2D`
 * takes integer factors only (no 48 → 128) and resamples without half-pixel centres, unlike Keras' UpSampling2D.
 */
export function applyResize(x: tf.SymbolicTensor, height: number, width: number): tf.SymbolicTensor {
  const [, h, w] = x.shape;
  if (typeof h !== 'number' || typeof w !== 'number') throw new Error('applyResize needs a static image size');
  const dense = (name: string, units: number) =>
    tf.layers.dense({ name, units, useBias: false, trainable: false, kernelInitializer: 'zeros' });
  const byWidth = dense(RESIZE_LAYERS.width, width);
  const byHeight = dense(RESIZE_LAYERS.height, height);
  let y = tf.layers.permute({ name: RESIZE_LAYERS.toChannelsFirst, dims: [3, 1, 2] }).apply(x) as tf.SymbolicTensor;
  y = byWidth.apply(y) as tf.SymbolicTensor;
  y = tf.layers.permute({ name: RESIZE_LAYERS.transpose, dims: [1, 3, 2] }).apply(y) as tf.SymbolicTensor;
  y = byHeight.apply(y) as tf.SymbolicTensor;
  y = tf.layers.permute({ name: RESIZE_LAYERS.toChannelsLast, dims: [3, 2, 1] }).apply(y) as tf.SymbolicTensor;
  tf.tidy(() => {
    byWidth.setWeights([tf.tensor2d(bilinearResizeMatrix(w, width), [w, width])]);
    byHeight.setWeights([tf.tensor2d(bilinearResizeMatrix(h, height), [h, height])]);
  });
  return y;
}

/**
 * Whether `layer` is one of {@link applyResize}'s frozen resampling kernels: fixed weights, so no gradient ever
 * flows into or through them for training's sake, and not a learned layer (FLOP counts leave them out).
 */
export function isResizeKernel(layer: Layer): boolean {
  return KERNEL_NAMES.has(layer.name) && layer.getClassName() === 'Dense' && !layer.trainable;
}
