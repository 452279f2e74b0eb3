import * as tf from '@tensorflow/tfjs';
import { FusedAdamOptimizer } from '@fersweep/tfjs-train-wasm';
import { batchNormBatchStatistics, batchNormTraining, updateMovingAverages } from '@fersweep/tfjs-train-wasm';
import { STATISTICS_KWARG, type StatisticsSink } from './batch-norm-statistics.js';
import { isResizeKernel } from './resize.js';

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
 * Compiles a classifier the way every variant does: Adam at `learningRate` (Keras' β₁ 0.9, β₂ 0.999, ε 1e-7; one
 * fused kernel per variable on wasm, {@link FusedAdamOptimizer}), categorical cross-entropy, accuracy.
 */
export function compileClassifier(model: tf.LayersModel, learningRate: number): void {
  model.compile({ optimizer: new FusedAdamOptimizer(learningRate, 0.9, 0.999, 1e-7), loss: LOSS, metrics: METRICS });
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
type Call = (inputs: CallArgs[0], kwargs: CallArgs[1]) => ReturnType<Layer['call']>;

/**
 * Replaces `layer.call` with `wrap(its current call)`, once per layer instance and `marker`: adapting a model
 * again does not wrap twice.
 */
function patchCall(layer: Layer, marker: symbol, wrap: (call: Call) => Call): void {
  const marked = layer as Layer & Record<symbol, true | undefined>;
  if (marked[marker]) return;
  layer.call = wrap(layer.call.bind(layer));
  marked[marker] = true;
}

const BATCH_NORM_PATCHED = Symbol('fersweep.batchNorm');

/** The tfjs-layers BatchNormalization fields the training path reads (tfjs 4.22; private in its typings). */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** The input of a single-input BatchNormalization layer that normalises the last axis, else null. */
function channelsLastInput(layer: Layer, inputs: CallArgs[0]): tf.Tensor | null {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x === undefined || (Array.isArray(inputs) && inputs.length !== 1)) return null;
  const bn = layer as unknown as BatchNormFields;
  const axis = bn.axis >= 0 ? bn.axis : bn.axis + x.rank;
  return axis === x.rank - 1 ? x : null;
}

/** γ and β of a BatchNormalization layer, ones and zeros where it has none (`scale`/`center` off). */
function affine(bn: BatchNormFields, channels: number): [tf.Tensor1D, tf.Tensor1D] {
  const gamma = bn.scale && bn.gamma ? (bn.gamma.read() as tf.Tensor1D) : tf.ones([channels]);
  const beta = bn.center && bn.beta ? (bn.beta.read() as tf.Tensor1D) : tf.zeros([channels]);
  return [gamma as tf.Tensor1D, beta as tf.Tensor1D];
}

/**
 * Training-mode call of a channels-last BatchNormalization layer through {@link batchNormTraining} (one op with
 * a closed-form gradient); null when the layer normalises another axis (the stock call handles it).
 */
function trainingCall(layer: Layer, inputs: CallArgs[0]): tf.Tensor | null {
  const x = channelsLastInput(layer, inputs);
  if (x === null) return null;
  const bn = layer as unknown as BatchNormFields;
  return tf.tidy(() => {
    const [gamma, beta] = affine(bn, x.shape[x.rank - 1] as number);
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, bn.epsilon);
    updateMovingAverages(bn.movingMean, bn.movingVariance, mean, variance, bn.momentum);
    tf.dispose([mean, variance]);
    return y;
  });
}

/**
 * Statistics-pass call (see `estimateBatchNormStatistics`): normalises with the batch statistics, forward
 * only, hands them to `sink` and leaves the moving averages alone; null when the layer is not channels-last.
 */
function statisticsCall(layer: Layer, inputs: CallArgs[0], sink: StatisticsSink): tf.Tensor | null {
  const x = channelsLastInput(layer, inputs);
  if (x === null) return null;
  const bn = layer as unknown as BatchNormFields;
  return tf.tidy(() => {
    const channels = x.shape[x.rank - 1] as number;
    const [gamma, beta] = affine(bn, channels);
    const { y, mean, variance } = batchNormBatchStatistics(x, gamma, beta, bn.epsilon);
    sink.add(layer, mean, variance, x.size / channels);
    return y;
  });
}

/**
 * Every BatchNormalization layer of `model`:
 * - while the layer is not trainable it runs in inference mode, as Keras does since TF 2.0: a frozen layer then
 *   normalises with its moving statistics and leaves them alone. tfjs-layers instead normalises frozen layers
 *   with the batch statistics in training and keeps updating their moving mean and variance, so a "frozen"
 *   pretrained base would drift;
 * - in training, a channels-last layer runs as one op with a closed-form gradient through the batch statistics
 *   ({@link batchNormTraining}: two fused passes on wasm instead of ~15), with the same moving-average updates as
 *   tfjs-layers. It also works without `center`/`scale`, where tfjs-layers 4.22 fails in training;
 * - called with the {@link STATISTICS_KWARG} keyword argument (a statistics pass), a trainable channels-last
 *   layer normalises with its batch statistics and reports them to the sink, whatever `training` says.
 */
function adaptBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    patchCall(layer, BATCH_NORM_PATCHED, (call) => (inputs, kwargs) => {
      if (!layer.trainable) return call(inputs, { ...kwargs, training: false });
      const sink = kwargs[STATISTICS_KWARG] as StatisticsSink | undefined;
      if (sink !== undefined) {
        const y = statisticsCall(layer, inputs, sink);
        if (y !== null) return y;
      }
      if (kwargs['training'] === true) {
        const y = trainingCall(layer, inputs);
        if (y !== null) return y;
      }
      return call(inputs, kwargs);
    });
  }
}

/** The tfjs-layers Conv2D fields the training path reads (tfjs 4.22; protected in its typings). */
interface ConvFields {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate: [number, number];
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

const CONV_PATCHED = Symbol('fersweep.firstConv');

/**
 * Layers of `model` none of whose ancestors has weights (other than a resize's fixed matrices): their input
 * gradient can never be needed.
 */
function layersWithoutWeightedAncestors(model: tf.LayersModel): Set<Layer> {
  const clear = new Set<Layer>();
  for (const layer of model.layers) {
    const parents = layer.inboundNodes.flatMap((node) => node.inboundLayers);
    const weightless = (p: Layer): boolean =>
      (p.weights.length === 0 || isResizeKernel(p)) && (clear.has(p) || p.getClassName() === 'InputLayer');
    if (parents.every(weightless)) clear.add(layer);
  }
  return clear;
}

/**
 * Convolutions fed only by weightless layers (the first conv of a model) run in training as a plain conv2d,
 * bias add and activation instead of tfjs' fused conv op: the fused op's gradient computes the input gradient
 * eagerly, which nothing reads there (a full Conv2DBackpropInput, 6% of a MobileNetV2 α0.35 step); with
 * plain ops the tape prunes it.
 */
function adaptFirstConvs(model: tf.LayersModel): void {
  for (const layer of layersWithoutWeightedAncestors(model)) {
    if (layer.getClassName() !== 'Conv2D') continue;
    const conv = layer as unknown as ConvFields;
    patchCall(layer, CONV_PATCHED, (call) => (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (kwargs['training'] !== true || x === undefined || x.rank !== 4 || conv.dataFormat !== 'channelsLast') {
        return call(inputs, kwargs);
      }
      return tf.tidy(() => {
        const pad = conv.padding === 'same' ? 'same' : 'valid';
        let y = tf.conv2d(
          x as tf.Tensor4D,
          conv.kernel.read() as tf.Tensor4D,
          conv.strides,
          pad,
          'NHWC',
          conv.dilationRate,
        );
        if (conv.bias !== null) y = tf.add(y, conv.bias.read());
        return conv.activation.apply(y);
      });
    });
  }
}

const RELU6_PATCHED = Symbol('fersweep.relu6');

/**
 * ReLU layers with maxValue 6 (MobileNetV2's) as one Relu6 op: tfjs-layers computes them as relu then
 * clipByValue — two passes forward and two masks backward for the same function and the same gradient
 * (0 < x ≤ 6).
 */
function adaptRelu6(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'ReLU') continue;
    const config = layer.getConfig() as { maxValue?: number | null };
    if (config.maxValue !== 6) continue;
    patchCall(layer, RELU6_PATCHED, (call) => (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x === undefined || (Array.isArray(inputs) && inputs.length !== 1)) return call(inputs, kwargs);
      return tf.relu6(x);
    });
  }
}

/**
 * Adapts the layers of `model` for training on fersweep's runtime, per layer instance (the saved model.json is
 * unchanged, so {@link loadModel} applies it again; idempotent). Numerically the same model:
 * - {@link adaptBatchNorm}: frozen BatchNorm runs in inference mode (as Keras); trainable BatchNorm trains as one
 *   op with a closed-form gradient;
 * - {@link adaptFirstConvs}: the first convolution skips its unused input gradient;
 * - {@link adaptRelu6}: ReLU(maxValue 6) runs as one Relu6 op.
 */
export function adaptLayers(model: tf.LayersModel): void {
  adaptBatchNorm(model);
  adaptFirstConvs(model);
  adaptRelu6(model);
}
