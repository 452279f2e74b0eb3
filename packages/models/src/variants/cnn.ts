import * as tf from '@tensorflow/tfjs';
import { CnnParams } from './cnn-params.js';
import { adaptLayers, compileClassifier, kernelInitializer } from './common.js';
import { ModelError } from './errors.js';
import { countFlops } from './flops.js';
import { checkInputBasics, type BuildOptions, type BuiltModel, type ModelInput, type ModelVariant } from './types.js';

/** Dense widths of the reference model at width 1 (Flatten → 256 → 512 → classes). */
const REFERENCE_DENSE = [256, 512] as const;

export { CnnParams };

/** Filters of conv block `i` (0-based) at `width`. */
function blockFilters(i: number, width: number): number {
  return Math.max(1, Math.round(64 * 2 ** i * width));
}

/** The dense widths a parameter set resolves to. */
export function cnnDenseUnits(params: CnnParams): number[] {
  const d = params.denseUnits;
  if (d === undefined) return REFERENCE_DENSE.map((u) => Math.max(1, Math.round(u * params.width)));
  return typeof d === 'number' ? [d] : [...d];
}

function checkCnnInput(params: CnnParams, input: ModelInput): void {
  checkInputBasics('cnn', input);
  const shrink = 2 ** params.blocks;
  if (Math.floor(input.height / shrink) < 1 || Math.floor(input.width / shrink) < 1) {
    throw new ModelError(
      'IncompatibleInput',
      `cnn: ${params.blocks} pooling blocks shrink a ${input.height}×${input.width} image below 1 pixel: ` +
        `use images of at least ${shrink}×${shrink} or fewer params.blocks`,
      { model: 'cnn', field: 'params.blocks' },
    );
  }
}

/** Builds the (uncompiled) network; layer names are fixed so that saved weights keep their names. */
function assembleCnn(params: CnnParams, input: ModelInput, seed: number | undefined): tf.LayersModel {
  checkCnnInput(params, input);
  const regularizer = params.l2 > 0 ? () => tf.regularizers.l2({ l2: params.l2 }) : () => undefined;
  let k = 0;
  const conv = (filters: number, name: string) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      padding: 'same',
      // Conv → bias → ReLU runs as one fused kernel (tfjs fuses a conv with its bias and activation).
      activation: 'relu',
      kernelInitializer: kernelInitializer(seed, k++),
      kernelRegularizer: regularizer(),
    });
  const bn = (name: string) => tf.layers.batchNormalization({ name, momentum: params.batchNormMomentum });
  const inputs = tf.input({ shape: [input.height, input.width, input.channels], name: 'image' });
  let x: tf.SymbolicTensor = inputs;
  const apply = (layer: tf.layers.Layer): void => {
    x = layer.apply(x) as tf.SymbolicTensor;
  };
  for (let b = 0; b < params.blocks; b++) {
    const filters = blockFilters(b, params.width);
    const p = `block${b + 1}_`;
    apply(conv(filters, `${p}conv1`));
    apply(bn(`${p}bn1`));
    apply(conv(filters, `${p}conv2`));
    apply(bn(`${p}bn2`));
    apply(tf.layers.maxPooling2d({ name: `${p}pool`, poolSize: 2 }));
    apply(tf.layers.dropout({ name: `${p}dropout`, rate: params.dropout }));
  }
  apply(tf.layers.flatten({ name: 'flatten' }));
  cnnDenseUnits(params).forEach((units, j) => {
    const p = `dense${j + 1}`;
    apply(
      tf.layers.dense({
        name: p,
        units,
        activation: 'relu',
        kernelInitializer: kernelInitializer(seed, k++),
        kernelRegularizer: regularizer(),
      }),
    );
    apply(bn(`${p}_bn`));
    apply(tf.layers.dropout({ name: `${p}_dropout`, rate: params.denseDropout }));
  });
  apply(
    tf.layers.dense({
      name: 'predictions',
      units: input.numClasses,
      activation: 'softmax',
      kernelInitializer: kernelInitializer(seed, k++),
      kernelRegularizer: regularizer(),
    }),
  );
  return tf.model({ inputs, outputs: x, name: 'cnn' });
}

/**
 * The classic FER2013 Keras CNN: `blocks` × [Conv 3×3 ReLU → BN → Conv 3×3 ReLU → BN → MaxPool 2×2 → Dropout]
 * with 64·2^i·width filters, then Flatten → [Dense ReLU → BN → Dropout] × (256, 512)·width → Dense softmax.
 * At width 1 and 48×48×1: 6.01 M parameters, 939.6 MFLOP per image (the notes' reference model).
 */
export const cnn: ModelVariant<CnnParams> = {
  name: 'cnn',
  description:
    'Classic FER2013 Keras CNN: 4 blocks of two 3×3 conv+BN, max-pool, dropout (64→512 filters × width), dense 256→512, softmax',
  params: CnnParams,
  async build(params: CnnParams, input: ModelInput, options: BuildOptions = {}): Promise<BuiltModel> {
    const model = assembleCnn(params, input, options.seed);
    adaptLayers(model);
    compileClassifier(model, params.learningRate);
    return { model, notes: [] };
  },
  flops(params: CnnParams, input: ModelInput): number {
    const model = assembleCnn(params, input, 0);
    try {
      return countFlops(model);
    } finally {
      model.dispose();
    }
  },
};
