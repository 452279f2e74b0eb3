import * as tf from '@tensorflow/tfjs';
import { compileClassifier, disposeModel, kernelInitializer, adaptLayers, type Layer } from './common.js';
import { ModelError } from './errors.js';
import { countFlops } from './flops.js';
import { loadMobileNetV2Pretrained } from '../pretrained/load.js';
import { blockPrefix, BLOCKS, makeDivisible, MOBILENETV2_ALPHAS, topChannels } from './mobilenetv2-layout.js';
import { MOBILENETV2_BASE_LAYERS, MOBILENETV2_INPUT_SIZES, MobileNetV2Params } from './mobilenetv2-params.js';
import { recompilePreservingOptimizer } from './recompile.js';
import { applyResize } from './resize.js';
import { checkInputBasics, type BuildOptions, type BuiltModel, type ModelInput, type ModelVariant } from './types.js';

export { makeDivisible, MOBILENETV2_ALPHAS, MOBILENETV2_BASE_LAYERS, MOBILENETV2_INPUT_SIZES, MobileNetV2Params };

/** Name of the base's first and last layer (keras names). */
const BASE_FIRST = 'Conv1';
const BASE_LAST = 'out_relu';

function checkMobileNetInput(input: ModelInput): void {
  checkInputBasics('mobilenetv2', input);
  if (input.channels !== 1 && input.channels !== 3) {
    throw new ModelError(
      'IncompatibleInput',
      `mobilenetv2 takes grayscale (1 channel, repeated into RGB) or RGB images, not ${input.channels} channels`,
      { model: 'mobilenetv2', field: 'input.channels' },
    );
  }
}

/**
 * Builds the (uncompiled) network with keras.applications' layer structure and names (all but the weightless
 * stride-2 padding layers), so that keras weights load by name: [rescale to [-1, 1] → resize → gray to RGB] →
 * Conv1 → 17 inverted residual blocks → Conv_1 → out_relu, then GlobalAveragePooling → Dropout → Dense softmax.
 */
function assembleMobileNetV2(params: MobileNetV2Params, input: ModelInput, seed: number | undefined): tf.LayersModel {
  checkMobileNetInput(input);
  const { alpha, inputSize: size } = params;
  let k = 0;
  const init = () => kernelInitializer(seed, k++);
  const bn = (name: string) =>
    tf.layers.batchNormalization({ name, epsilon: 1e-3, momentum: params.batchNormMomentum });
  // ReLU layer with maxValue: one clip kernel, about twice as fast on wasm as activation 'relu6' (min(6, relu)).
  const relu6 = (name: string) => tf.layers.reLU({ name, maxValue: 6 });
  const pw = (filters: number, name: string) =>
    tf.layers.conv2d({ name, filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init() });

  const inputs = tf.input({ shape: [input.height, input.width, input.channels], name: 'image' });
  let x: tf.SymbolicTensor = inputs;
  const apply = (layer: tf.layers.Layer, from: tf.SymbolicTensor | tf.SymbolicTensor[] = x): tf.SymbolicTensor =>
    (x = layer.apply(from) as tf.SymbolicTensor);
  // keras' preprocess_input for MobileNetV2: pixels in [0, 1] (the dataset's rescale) → [-1, 1].
  apply(tf.layers.rescaling({ name: 'rescale', scale: 2, offset: -1 }));
  if (input.height !== size || input.width !== size) {
    x = applyResize(x, size, size);
  }
  if (input.channels === 1) apply(tf.layers.concatenate({ name: 'gray_to_rgb', axis: -1 }), [x, x, x]);

  apply(
    tf.layers.conv2d({
      name: BASE_FIRST,
      filters: makeDivisible(32 * alpha),
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(),
    }),
  );
  apply(bn('bn_Conv1'));
  apply(relu6('Conv1_relu'));
  let channels = makeDivisible(32 * alpha);
  BLOCKS.forEach(([filters, stride, expansion], id) => {
    const blockInput = x;
    const out = makeDivisible(Math.trunc(filters * alpha));
    const p = blockPrefix(id);
    if (id > 0) {
      apply(pw(expansion * channels, `${p}expand`));
      apply(bn(`${p}expand_BN`));
      apply(relu6(`${p}expand_relu`));
    }
    apply(
      tf.layers.depthwiseConv2d({
        name: `${p}depthwise`,
        kernelSize: 3,
        strides: stride,
        // keras pads stride-2 blocks with a ZeroPadding2D `block_N_pad` (correct_pad) and a 'valid' conv; for a
        // 3×3 kernel that is exactly TF's 'same' padding at any side length, which XNNPACK applies inside the
        // conv: without the separate pad (and its gradient, a slice) a training step is ~8% faster.
        padding: 'same',
        useBias: false,
        depthwiseInitializer: init(),
      }),
    );
    apply(bn(`${p}depthwise_BN`));
    apply(relu6(`${p}depthwise_relu`));
    apply(pw(out, `${p}project`));
    apply(bn(`${p}project_BN`));
    if (stride === 1 && channels === out) apply(tf.layers.add({ name: `${p}add` }), [blockInput, x]);
    channels = out;
  });
  apply(pw(topChannels(alpha), 'Conv_1'));
  apply(bn('Conv_1_bn'));
  apply(relu6(BASE_LAST));

  apply(tf.layers.globalAveragePooling2d({ name: 'head_pool' }));
  params.head.forEach((units, i) => {
    apply(tf.layers.dense({ name: `head_dense_${i + 1}`, units, activation: 'relu', kernelInitializer: init() }));
    apply(tf.layers.dropout({ name: `head_dropout_${i + 1}`, rate: params.dropout }));
  });
  if (params.head.length === 0) apply(tf.layers.dropout({ name: 'head_dropout', rate: params.dropout }));
  apply(
    tf.layers.dense({ name: 'predictions', units: input.numClasses, activation: 'softmax', kernelInitializer: init() }),
  );
  return tf.model({ inputs, outputs: x, name: `mobilenetv2_${alpha}_${size}` });
}

/** The base's layers, `Conv1` … `out_relu`, in order (of a built or a loaded MobileNetV2). */
export function mobileNetV2BaseLayers(model: tf.LayersModel): Layer[] {
  const names = model.layers.map((l) => l.name);
  const first = names.indexOf(BASE_FIRST);
  const last = names.indexOf(BASE_LAST);
  if (first < 0 || last < first) {
    throw new ModelError(
      'InvalidArtifacts',
      `${model.name} is not a MobileNetV2: no ${BASE_FIRST} … ${BASE_LAST} layers`,
    );
  }
  return model.layers.slice(first, last + 1);
}

/**
 * Fine-tuning schedule, for the trainer to call at the start of every epoch (0-based): from epoch
 * `fineTuneAt.epoch` on, the top `fineTuneAt.layers` layers of the base are trainable. When that changes
 * anything it recompiles the model keeping Adam and its state (tfjs only trains what was trainable at compile
 * time) and returns true. Idempotent, so a run resumed from a checkpoint after the switch changes nothing.
 */
export function applyFineTuning(model: tf.LayersModel, params: MobileNetV2Params, epoch: number): boolean {
  const ft = params.fineTuneAt;
  if (ft === undefined || epoch < ft.epoch) return false;
  const base = mobileNetV2BaseLayers(model);
  let changed = false;
  base.slice(base.length - ft.layers).forEach((layer) => {
    if (!layer.trainable) {
      layer.trainable = true;
      changed = true;
    }
  });
  if (changed) recompilePreservingOptimizer(model, ft.learningRate);
  return changed;
}

/**
 * MobileNetV2 (Sandler et al. 2018) as keras.applications builds it — inverted residual blocks with expansion 6,
 * depthwise 3×3, linear bottlenecks, residual adds, ReLU6, width multiplier α — with keras' layer names, so
 * keras' own weight files load by name (`pretrained: imagenet`). Pixels in [0, 1] are scaled to [-1, 1] (keras'
 * `mobilenet_v2.preprocess_input`) and grayscale is repeated into RGB inside the model; a head of global average
 * pooling → [Dense ReLU → Dropout] × `head` (or Dropout alone) → Dense softmax classifies. α 1.0: 2,257,984 base
 * parameters; at 48×48, 33.2 MFLOP per image.
 */
export const mobilenetv2: ModelVariant<MobileNetV2Params> = {
  name: 'mobilenetv2',
  description:
    'MobileNetV2 (keras.applications structure and layer names), width multiplier alpha, ImageNet or other pretrained base, freezing and fine-tuning, dense head',
  params: MobileNetV2Params,
  async build(params: MobileNetV2Params, input: ModelInput, options: BuildOptions = {}): Promise<BuiltModel> {
    const model = assembleMobileNetV2(params, input, options.seed);
    try {
      const base = mobileNetV2BaseLayers(model);
      const notes: string[] = [];
      const built: BuiltModel = { model, notes };
      if (params.pretrained === undefined) {
        notes.push('mobilenetv2: no pretrained weights, training from scratch');
      } else {
        const { report, notes: loadNotes } = await loadMobileNetV2Pretrained(base, params, options);
        const head = model.layers.slice(model.layers.indexOf(base[base.length - 1] as Layer) + 1);
        for (const layer of head) {
          if (layer.weights.length > 0)
            report.skipped.push({ layer: layer.name, reason: 'head: trained from scratch' });
        }
        built.pretrained = report;
        notes.push(...loadNotes);
        const missed = report.skipped.filter((s) => !s.reason.startsWith('head:'));
        if (missed.length > 0) {
          notes.push(
            `mobilenetv2: ${missed.length} base layers kept their random initialisation (e.g. ${missed[0]?.layer}: ${missed[0]?.reason})` +
              (params.freezeBase ? ' and are frozen that way' : ''),
          );
        }
      }
      if (params.freezeBase) {
        for (const layer of base) layer.trainable = false;
        notes.push(
          params.fineTuneAt === undefined
            ? 'mobilenetv2: base frozen, training the head only'
            : `mobilenetv2: base frozen; its top ${params.fineTuneAt.layers} layers unfreeze after epoch ${params.fineTuneAt.epoch}`,
        );
      }
      adaptLayers(model);
      compileClassifier(model, params.learningRate);
      return built;
    } catch (err) {
      disposeModel(model);
      throw err;
    }
  },
  flops(params: MobileNetV2Params, input: ModelInput): number {
    const model = assembleMobileNetV2(params, input, 0);
    try {
      return countFlops(model);
    } finally {
      model.dispose();
    }
  },
  preprocessing(params: MobileNetV2Params, input: ModelInput): string[] {
    return [
      'scale [0, 1] → [-1, 1] (x × 2 − 1: keras mobilenet_v2.preprocess_input on 0–255 pixels rescaled by 1/255)',
      ...(input.height !== params.inputSize || input.width !== params.inputSize
        ? [`resize to ${params.inputSize}×${params.inputSize} (bilinear)`]
        : []),
      ...(input.channels === 1 ? ['grayscale → RGB (the channel repeated 3 times)'] : []),
    ];
  },
  onEpochStart: applyFineTuning,
};
