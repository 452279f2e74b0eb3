import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_BACKPROP, BATCH_NORM_MOVING, BATCH_NORM_STATS } from './kernels/batch-norm/train.js';

/** Batch-normalised output and the batch statistics it used (for the moving averages). */
export interface BatchNormTrainingResult {
  y: tf.Tensor;
  /** Batch mean and biased variance per channel, as tf.moments computes them. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** True when the fused wasm kernels take this tensor (wasm backend, float32, channels a multiple of 4). */
function onWasm(x: tf.Tensor): boolean {
  const c = x.shape[x.rank - 1];
  return (
    tf.getBackend() === 'wasm' &&
    x.dtype === 'float32' &&
    c !== undefined &&
    c % 4 === 0 &&
    tf.getKernel(BATCH_NORM_STATS, 'wasm') !== undefined
  );
}

function moments(x: tf.Tensor): [tf.Tensor1D, tf.Tensor1D] {
  if (onWasm(x)) return tf.engine().runKernel(BATCH_NORM_STATS, { x }, {}) as [tf.Tensor1D, tf.Tensor1D];
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const m = tf.moments(x, axes);
  return [m.mean as tf.Tensor1D, m.variance as tf.Tensor1D];
}

/** dx, dγ, dβ of training-mode BatchNorm, through the batch statistics. */
function backprop(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  gamma: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  if (onWasm(x)) {
    const inputs = { dy, x, mean, variance, scale: gamma };
    return tf.engine().runKernel(BATCH_NORM_BACKPROP, inputs, { varianceEpsilon: epsilon }) as [
      tf.Tensor,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
  }
  return tf.tidy(() => {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const rows = x.size / (x.shape[x.rank - 1] ?? 1);
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const k = tf.mul(gamma, inv);
    const centred = tf.sub(x, mean);
    const sumDy = tf.sum(dy, axes) as tf.Tensor1D;
    const sumDyCentred = tf.sum(tf.mul(dy, centred), axes) as tf.Tensor1D;
    const p = tf.div(tf.mul(tf.mul(k, tf.square(inv)), sumDyCentred), -rows);
    const dx = tf.add(tf.sub(tf.mul(dy, k), tf.div(tf.mul(k, sumDy), rows)), tf.mul(centred, p));
    return [dx, tf.mul(inv, sumDyCentred) as tf.Tensor1D, sumDy];
  });
}

/**
 * Training-mode batch normalisation over every axis but the last (channels-last), as one differentiable op:
 * y = γ·(x − μ)/√(σ² + ε) + β with the batch mean μ and biased variance σ². Its gradient goes through μ and σ²
 * in closed form — on wasm as two fused SIMD passes — instead of the ~15 tape passes of tfjs-layers'
 * moments-then-batchNorm composition. Numerically the same function; every backend.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainingResult {
  const holder: { stats?: [tf.Tensor1D, tf.Tensor1D] } = {};
  const op = tf.customGrad((xIn, gIn, bIn, save) => {
    const [xt, g, b] = [xIn as tf.Tensor, gIn as tf.Tensor1D, bIn as tf.Tensor1D];
    const [mean, variance] = moments(xt);
    const y = tf.batchNorm(xt, mean, variance, b, g, epsilon);
    (save as tf.GradSaveFunc)([xt, mean, variance, g]);
    // Kept past the op's scope for the moving averages (the tape saves its own copies).
    holder.stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        return backprop(Array.isArray(dy) ? (dy[0] as tf.Tensor) : dy, sx, sm, sv, sg, epsilon);
      },
    };
  });
  const y = op(x, gamma, beta);
  if (holder.stats === undefined) throw new Error('batchNormTraining: statistics were not computed');
  const [mean, variance] = holder.stats;
  return { y, mean, variance };
}

/**
 * Forward-only training-mode batch normalisation (channels-last): y normalised with the batch mean and biased
 * variance, and those statistics — what {@link batchNormTraining} computes, without a gradient. On wasm the
 * statistics are one fused pass (`BATCH_NORM_STATS`) and the normalisation the fused `FusedBatchNorm` kernel.
 * Used to re-estimate a layer's population statistics ("precise BatchNorm").
 */
export function batchNormBatchStatistics(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainingResult {
  const [mean, variance] = moments(x);
  const y = tf.batchNorm(x, mean, variance, beta, gamma, epsilon);
  return { y, mean, variance };
}

/**
 * Keras' moving-average update of a BatchNorm layer's statistics, v ← v − (v − batch value)·(1 − momentum), for
 * the mean and the variance (one kernel on wasm; tf ops elsewhere).
 */
export function updateMovingAverages(
  movingMean: tf.LayerVariable,
  movingVariance: tf.LayerVariable,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  momentum: number,
): void {
  tf.tidy(() => {
    const mm = movingMean.read();
    const mv = movingVariance.read();
    if (onWasm(mean) && tf.getKernel(BATCH_NORM_MOVING, 'wasm') !== undefined) {
      const inputs = { movingMean: mm, movingVariance: mv, mean, variance };
      const [m1, v1] = tf.engine().runKernel(BATCH_NORM_MOVING, inputs, { momentum }) as [tf.Tensor, tf.Tensor];
      movingMean.write(m1 as tf.Tensor);
      movingVariance.write(v1 as tf.Tensor);
      return;
    }
    movingMean.write(tf.sub(mm, tf.mul(tf.sub(mm, mean), 1 - momentum)));
    movingVariance.write(tf.sub(mv, tf.mul(tf.sub(mv, variance), 1 - momentum)));
  });
}
