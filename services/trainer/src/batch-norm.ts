import type * as tf from '@tensorflow/tfjs';
import type { TrialSpec } from '@fersweep/contracts';
import { epochBatches, type SplitData } from '@fersweep/dataset';
import { BatchNormPool, type BatchNormEstimate } from '@fersweep/models';
import { localEvaluator, type BatchEvaluator } from './forward.js';

/** How the precise-BatchNorm pass of a trial runs. */
export interface PreciseBatchNormPlan {
  /** Training images per pass. */
  images: number;
  /** Images per forward pass: the evaluation's batch size or less, split evenly. */
  batchSize: number;
}

/** Statistics-pass batches handed to the evaluator at once (bounds the images held: 16 × 128 at most). */
const MOMENTS_GROUP = 16;

/** The batch size evaluation predicts with; the statistics pass uses it too (larger batches, closer to inference). */
export function evaluationBatchSize(spec: TrialSpec): number {
  return Math.max(spec.batchSize, 128);
}

/**
 * Whether and how a trial re-estimates its BatchNorm statistics before each evaluation (see the contract's
 * `PreciseBatchNorm`): undefined when the spec turns it off, or when the variant sets `batchNormMomentum`
 * explicitly — training never reads the moving averages (it normalises with batch statistics), so with
 * re-estimation on that param would change nothing at all; a trial that sets it evaluates with Keras' moving
 * averages at that momentum instead.
 */
export function preciseBatchNormPlan(spec: TrialSpec, trainImages: number): PreciseBatchNormPlan | undefined {
  if (spec.preciseBatchNorm === false || spec.params['batchNormMomentum'] !== undefined) return undefined;
  const images = Math.min(spec.preciseBatchNorm.images, trainImages);
  if (images < 1) return undefined;
  const passes = Math.ceil(images / evaluationBatchSize(spec));
  return { images, batchSize: Math.ceil(images / passes) };
}

/**
 * Precise BatchNorm before an evaluation: the population statistics of every trainable BatchNorm layer,
 * estimated with the current weights from the first `plan.images` images of epoch `epoch`'s (0-based) shuffled
 * training order — un-augmented, at the training rescale, dropout off — replace its moving mean and variance
 * ({@link estimateBatchNormStatistics}). A pure function of (weights, data, seed, epoch): a trial resumed from
 * any checkpoint computes exactly what an uninterrupted one does. Frozen layers keep their statistics.
 */
export async function recalibrateBatchNorm(
  model: tf.LayersModel,
  train: SplitData,
  plan: PreciseBatchNormPlan,
  spec: TrialSpec,
  epoch: number,
  channels: number,
  evaluator: BatchEvaluator = localEvaluator(model, { height: train.height, width: train.width, channels }),
): Promise<BatchNormEstimate & { seconds: number }> {
  const t0 = performance.now();
  const rescale = spec.augmentation?.rescale;
  const pool = new BatchNormPool();
  if (model.layers.some((l) => l.getClassName() === 'BatchNormalization' && l.trainable)) {
    const batches = epochBatches({
      data: train,
      batchSize: plan.batchSize,
      seed: spec.seed,
      epoch,
      shuffle: true,
      ...(rescale !== undefined ? { augmentation: { rescale } } : {}),
    });
    // Batches go to the evaluator in groups (replicas take a group's batches in turn), pooled in their order.
    let group: { xs: Float32Array; size: number }[] = [];
    const pass = async () => {
      for (const [i, m] of (await evaluator.moments(group)).entries()) {
        if (m.layers.length === 0) continue;
        pool.add(m);
        pool.images += group[i]!.size;
        pool.batches++;
      }
      group = [];
    };
    let left = plan.images;
    for (const batch of batches) {
      if (left <= 0) break;
      const size = Math.min(batch.size, left);
      left -= size;
      group.push({ xs: batch.xs, size });
      if (group.length === MOMENTS_GROUP) await pass();
    }
    await pass();
  }
  return { ...pool.write(model), seconds: (performance.now() - t0) / 1000 };
}
