import * as tf from '@tensorflow/tfjs';
import { epochBatches, type SplitData } from '@fersweep/dataset';
import { localEvaluator, type BatchEvaluator } from './forward.js';

export interface SplitPredictions {
  count: number;
  /** count × numClasses softmax outputs. */
  probabilities: Float32Array;
  predictions: Uint8Array;
  /** Mean sparse categorical cross-entropy. */
  loss: number;
  accuracy: number;
}

/**
 * One forward pass over a split in order (no shuffling, no augmentation), giving the probabilities,
 * predicted labels, loss and accuracy together. Leaves no tensors behind. `rescale` must be the one
 * the model trained with (the spec's `augmentation.rescale`; absent = the default 1/255): a model
 * trained on 0–255 pixels and evaluated on [0, 1] ones predicts one class for everything. `model` may be a
 * {@link BatchEvaluator} (data-parallel replicas, each predicting its shard of every batch).
 */
export async function predictSplit(
  model: tf.LayersModel | BatchEvaluator,
  data: SplitData,
  batchSize: number,
  numClasses: number,
  rescale?: number,
): Promise<SplitPredictions> {
  const forward =
    model instanceof tf.LayersModel
      ? localEvaluator(model, { height: data.height, width: data.width, channels: 1 })
      : model;
  const probabilities = new Float32Array(data.count * numClasses);
  const predictions = new Uint8Array(data.count);
  let lossSum = 0;
  let correct = 0;
  let row = 0;
  const augmentation = rescale !== undefined ? { augmentation: { rescale } } : {};
  for (const batch of epochBatches({ data, batchSize, seed: 0, epoch: 0, shuffle: false, ...augmentation })) {
    const probs = await forward.predict(batch.xs, batch.size);
    probabilities.set(probs, row * numClasses);
    for (let i = 0; i < batch.size; i++) {
      const p = probs.subarray(i * numClasses, (i + 1) * numClasses);
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (p[c]! > p[best]!) best = c;
      const label = batch.labels[i]!;
      predictions[row + i] = best;
      if (best === label) correct++;
      lossSum -= Math.log(Math.max(p[label]!, 1e-7));
    }
    row += batch.size;
  }
  const n = Math.max(data.count, 1);
  return { count: data.count, probabilities, predictions, loss: lossSum / n, accuracy: correct / n };
}
