/**
 * The forward passes of an evaluation (validation each epoch, precise BatchNorm, the final test evaluation) as
 * one interface: on the model on this thread, or split over data-parallel replicas like a training batch
 * ({@link DataParallel.evaluation}), so that with N threads an epoch's evaluation uses every core too.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormMoments, type BatchNormMoments } from '@fersweep/models';

export interface BatchEvaluator {
  /** Softmax outputs (size × classes) of the model in inference mode for `size` images of `xs`. */
  predict(xs: Float32Array, size: number): Promise<Float32Array>;
  /**
   * The precise-BatchNorm statistics pass over whole batches, one BatchNormMoments per batch in their order.
   * Batches are never split (each layer normalises with the statistics of the whole batch, which the moments of
   * deeper layers depend on); data-parallel replicas take whole batches in turn, so the result is the same
   * whatever the thread count.
   */
  moments(batches: { xs: Float32Array; size: number }[]): Promise<BatchNormMoments[]>;
}

/** Image geometry of a model's input. */
export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

/** Evaluation on `model` on this thread. */
export function localEvaluator(model: tf.LayersModel, input: InputShape): BatchEvaluator {
  const images = (xs: Float32Array, size: number) =>
    tf.tensor4d(xs.subarray(0, size * input.height * input.width * input.channels), [
      size,
      input.height,
      input.width,
      input.channels,
    ]);
  return {
    predict: async (xs, size) =>
      tf.tidy(() => (model.predict(images(xs, size)) as tf.Tensor).dataSync() as Float32Array),
    moments: async (batches) =>
      batches.map(({ xs, size }) => {
        const x = images(xs, size);
        try {
          return batchNormMoments(model, x);
        } finally {
          x.dispose();
        }
      }),
  };
}
