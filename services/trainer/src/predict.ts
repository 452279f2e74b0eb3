import * as tf from '@tensorflow/tfjs';
import { epochBatches, type SplitData } from '@fersweep/dataset';

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
 * trained on 0–255 pixels and evaluated on [0, 1] ones predicts one class for everything.
 */
export function predictSplit(
  model: tf.LayersModel,
  data: SplitData,
  batchSize: number,
  numClasses: number,
  rescale?: number,
): SplitPredictions {
  const probabilities = new Float32Array(data.count * numClasses);
  const predictions = new Uint8Array(data.count);
  let lossSum = 0;
  let correct = 0;
  let row = 0;
  const augmentation = rescale !== undefined ? { augmentation: { rescale } } : {};
  for (const batch of epochBatches({ data, batchSize, seed: 0, epoch: 0, shuffle: false, ...augmentation })) {
    const probs = tf.tidy(() => {
      const xs = tf.tensor4d(batch.xs, [batch.size, data.height, data.width, 1]);
      return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
    });
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
