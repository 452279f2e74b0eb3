import * as tf from '@tensorflow/tfjs';

/**
 * The call keyword argument that puts adapted BatchNormalization layers (see `adaptLayers`) into statistics
 * mode: a trainable layer then normalises with its batch statistics and hands them to the
 * {@link StatisticsSink} given as the argument's value, instead of normalising with its moving statistics.
 * tfjs-layers passes a model's call kwargs to every layer unchanged.
 */
export const STATISTICS_KWARG = 'fersweepBatchNormStatistics';

/** Receives each trainable BatchNormalization layer's batch statistics during a statistics pass. */
export interface StatisticsSink {
  /**
   * Called once per layer call with the batch mean and biased variance per channel over `count` values per
   * channel (batch × height × width). The sink takes ownership of the two tensors (kept past the call's tidy).
   */
  add(layer: tf.layers.Layer, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void;
}

/** What a re-estimation did. */
export interface BatchNormEstimate {
  /** BatchNormalization layers whose moving statistics were replaced. */
  layers: number;
  /** Trainable BatchNormalization layers it could not estimate (not channels-last), by name: left as they were. */
  skipped: string[];
  /** Images and batches the pass ran. */
  images: number;
  batches: number;
}

/** Per-channel running count, mean and sum of squared deviations, pooled over batches in float64. */
class PooledMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /**
   * Pools one batch's mean and biased variance over `count` values (Chan et al.'s parallel update): the result
   * is the exact mean and variance of all values seen, whatever the batch sizes — the law of total variance,
   * E[batch variance] + Var[batch mean] with each batch weighted by its size.
   */
  add(mean: Float32Array, variance: Float32Array, count: number): void {
    const total = this.count + count;
    for (let c = 0; c < this.mean.length; c++) {
      const delta = mean[c]! - this.mean[c]!;
      this.mean[c] = this.mean[c]! + (delta * count) / total;
      this.m2[c] = this.m2[c]! + variance[c]! * count + (delta * delta * this.count * count) / total;
    }
    this.count = total;
  }
}

/** The tfjs-layers BatchNormalization fields written here (tfjs 4.22; private in its typings). */
interface MovingStatistics {
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * One batch's statistics for every trainable BatchNormalization layer of an adapted model: per layer (by name,
 * in call order) the per-channel batch mean and biased variance over `count` values. Plain arrays, so a
 * data-parallel replica can compute them for its shard and hand them to another thread.
 */
export interface BatchNormMoments {
  layers: { name: string; mean: Float32Array; variance: Float32Array; count: number }[];
}

/**
 * The statistics pass of {@link estimateBatchNormStatistics} for one batch: a forward pass in which every
 * trainable BatchNorm layer normalises with, and reports, its batch statistics. Does not take ownership of `x`;
 * leaves no tensors behind.
 */
export function batchNormMoments(model: tf.LayersModel, x: tf.Tensor): BatchNormMoments {
  const seen: { layer: tf.layers.Layer; mean: tf.Tensor1D; variance: tf.Tensor1D; count: number }[] = [];
  const sink: StatisticsSink = {
    add: (layer, mean, variance, n) => seen.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance), count: n }),
  };
  try {
    tf.tidy(() => {
      model.apply(x, { training: false, [STATISTICS_KWARG]: sink });
    });
    if (seen.length === 0) return { layers: [] };
    const flat = tf.tidy(() => tf.concat(seen.flatMap((s) => [s.mean, s.variance])).dataSync() as Float32Array);
    let offset = 0;
    return {
      layers: seen.map((s) => {
        const channels = s.mean.size;
        const mean = flat.slice(offset, offset + channels);
        const variance = flat.slice(offset + channels, offset + 2 * channels);
        offset += 2 * channels;
        return { name: s.layer.name, mean, variance, count: s.count };
      }),
    };
  } finally {
    tf.dispose(seen.flatMap((s) => [s.mean, s.variance]));
  }
}

/**
 * Pools {@link BatchNormMoments} over batches (or over the shards of a batch, in a fixed order) and writes the
 * result into a model's moving statistics: the second half of {@link estimateBatchNormStatistics}, for callers
 * that compute the moments elsewhere (data-parallel replicas).
 */
export class BatchNormPool {
  private readonly pooled = new Map<string, PooledMoments>();
  images = 0;
  batches = 0;

  add(moments: BatchNormMoments): void {
    for (const l of moments.layers) {
      const stats = this.pooled.get(l.name) ?? new PooledMoments(l.mean.length);
      this.pooled.set(l.name, stats);
      stats.add(l.mean, l.variance, l.count);
    }
  }

  /** Writes the pooled statistics into `model`'s layers; what {@link estimateBatchNormStatistics} returns. */
  write(model: tf.LayersModel): BatchNormEstimate {
    const targets = model.layers.filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable);
    for (const [name, stats] of this.pooled) {
      const bn = model.getLayer(name) as unknown as MovingStatistics;
      tf.tidy(() => {
        bn.movingMean.write(tf.tensor1d(Float32Array.from(stats.mean)));
        bn.movingVariance.write(tf.tensor1d(Float32Array.from(stats.m2, (m2) => m2 / stats.count)));
      });
    }
    const skipped = this.batches > 0 ? targets.filter((l) => !this.pooled.has(l.name)).map((l) => l.name) : [];
    return { layers: this.pooled.size, skipped, images: this.images, batches: this.batches };
  }
}

/**
 * Re-estimates the population statistics of every trainable BatchNormalization layer of an adapted `model`
 * ("precise BatchNorm", Wu & Johnson 2021; fvcore's `update_bn_stats`, `torch.optim.swa_utils.update_bn`) and
 * writes them into its moving mean and variance, so that inference normalises with statistics of the current
 * weights instead of moving averages that lag them.
 *
 * One forward pass per batch, in inference mode for every other layer (dropout off, as evaluation runs), while
 * each trainable BatchNorm layer normalises with its batch statistics and reports them — so a layer's input is
 * what it would see in training, minus dropout noise. The statistics are pooled over all batches in float64:
 * the mean of all values and their exact (biased) variance, not an average of batch variances. Frozen
 * BatchNorm layers (not trainable) stay in inference mode and keep their statistics (Keras semantics).
 * Layers that normalise an axis other than the last are left unchanged and listed in `skipped`.
 *
 * Takes ownership of the batch tensors (each is disposed after its pass); leaves no tensors behind. With no
 * trainable BatchNorm layer it runs nothing. Deterministic: the same weights and batches give the same
 * statistics.
 */
export function estimateBatchNormStatistics(model: tf.LayersModel, batches: Iterable<tf.Tensor>): BatchNormEstimate {
  const trainable = model.layers.some((l) => l.getClassName() === 'BatchNormalization' && l.trainable);
  const pool = new BatchNormPool();
  for (const x of batches) {
    try {
      if (!trainable) continue;
      const moments = batchNormMoments(model, x);
      if (moments.layers.length === 0) continue;
      pool.add(moments);
      pool.images += x.shape[0] ?? 0;
      pool.batches++;
    } finally {
      x.dispose();
    }
  }
  return pool.write(model);
}
