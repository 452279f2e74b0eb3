import type * as tf from '@tensorflow/tfjs';
import type { Layer } from './common.js';
import { isResizeKernel } from './resize.js';

/** Layers whose multiply-adds {@link countFlops} counts: each applies its kernel once per output position. */
const KERNEL_LAYERS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

function outputShape(layer: Layer): (number | null)[] {
  const shape = layer.outputShape;
  // Multi-output layers do not occur among KERNEL_LAYERS; take the first shape if one ever does.
  return (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
}

/**
 * Forward FLOPs per image: 2 × the multiply-adds of every convolution, depthwise convolution and dense layer,
 * read from the built layers (kernel size × output positions). Batch normalisation, biases, activations, pooling
 * and adds are not counted: BatchNorm and biases fold into the preceding kernel at inference, and the rest are
 * a fraction of a percent — the convention of the MobileNetV2 paper's "MAdds" and of the notes' figures.
 */
export function countFlops(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    // The frozen resampling matrices of a resize are preprocessing, as the resize itself was before them.
    if (!KERNEL_LAYERS.has(layer.getClassName()) || isResizeKernel(layer)) continue;
    // Positions: every output axis between the batch and the channel axis (1 for a dense layer on a vector).
    const positions = outputShape(layer)
      .slice(1, -1)
      .reduce<number>((a, d) => a * (d ?? 1), 1);
    for (const w of layer.weights) {
      // Only the kernels multiply (biases add): a kernel's size is its multiply-adds per output position.
      if (!/(^|\/)(kernel|depthwise_kernel|pointwise_kernel)(_\d+)?$/.test(w.originalName)) continue;
      const perPosition = w.shape.reduce<number>((a, d) => a * (d ?? 1), 1);
      // A separable conv's pointwise kernel runs per position as well; a depthwise kernel [kh,kw,cin,mult]
      // gives kh·kw·cin·mult multiply-adds per position, exactly its size.
      macs += perPosition * positions;
    }
  }
  return 2 * macs;
}
