import * as tf from '@tensorflow/tfjs';

/** A layer of a tfjs LayersModel. */
export type Layer = tf.layers.Layer;

/**
 * The loss every variant compiles with. Labels are one-hot rows (see {@link labelTensor}): tfjs 4.22's
 * sparse categorical cross-entropy rejects int32 class indices (it calls `floor`, which asserts float32), and
 * one-hot labels cost 28 bytes an image — about 1 MB for all of FER2013.
 */
export const LOSS = 'categoricalCrossentropy';

/** The metric every variant compiles with; with {@link LOSS} tfjs resolves it to categorical accuracy. */
export const METRICS = ['accuracy'];

/**
 * Compiles a classifier the way every variant does: Adam at `learningRate` (Keras' β₁ 0.9, β₂ 0.999, ε 1e-7),
 * categorical cross-entropy, accuracy.
 */
export function compileClassifier(model: tf.LayersModel, learningRate: number): void {
  model.compile({ optimizer: tf.train.adam(learningRate, 0.9, 0.999, 1e-7), loss: LOSS, metrics: METRICS });
}

/** Labels as the compiled models take them: class indices → one-hot float32 rows `[n, numClasses]`. */
export function labelTensor(labels: ArrayLike<number>, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), numClasses).toFloat() as tf.Tensor2D);
}

/**
 * Keras' kernel initializer (Glorot uniform), seeded per layer when `seed` is given so that two builds with the
 * same seed start from the same weights. Each layer needs its own seed: one seed for all would give layers of
 * equal shape identical weights.
 */
export function kernelInitializer(
  seed: number | undefined,
  layerIndex: number,
): ReturnType<typeof tf.initializers.glorotUniform> {
  return seed === undefined
    ? tf.initializers.glorotUniform({})
    : tf.initializers.glorotUniform({ seed: (seed * 7919 + layerIndex * 104729) % 2 ** 31 });
}

/** The tfjs-internal shape of a LayersModel's optimizer ownership flag (see {@link disposeModel}). */
interface OptimizerOwnership {
  optimizer?: tf.Optimizer;
}

/**
 * Disposes a model and its optimizer (Adam's moment variables). `model.dispose()` alone keeps an optimizer it
 * was given as an instance — which is how every variant and every loaded model is compiled — so its variables
 * would leak. Safe to call on an uncompiled model.
 */
export function disposeModel(model: tf.LayersModel): void {
  const optimizer = (model as unknown as OptimizerOwnership).optimizer;
  model.dispose();
  optimizer?.dispose();
}

type CallArgs = Parameters<Layer['call']>;

const PATCHED = Symbol('fersweep.frozenBatchNorm');

/**
 * Makes every BatchNormalization layer of `model` run in inference mode while it is not trainable, as Keras does
 * since TF 2.0: a frozen layer then normalises with its moving statistics and leaves them alone. tfjs-layers
 * instead normalises frozen layers with the batch statistics in training and keeps updating their moving mean
 * and variance, so a "frozen" pretrained base would drift. Per layer instance (the saved model.json is unchanged,
 * so {@link loadModel} applies it again); idempotent.
 */
export function useFrozenBatchNormInference(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const marked = layer as Layer & { [PATCHED]?: true };
    if (marked[PATCHED]) continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs: CallArgs[0], kwargs: CallArgs[1]) =>
      call(inputs, layer.trainable ? kwargs : { ...kwargs, training: false });
    marked[PATCHED] = true;
  }
}
