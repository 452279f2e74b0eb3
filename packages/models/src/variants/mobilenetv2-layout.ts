/**
 * keras.applications.MobileNetV2's layer plan without TensorFlow.js: block table, channel rounding, and the
 * names and shapes of every weight of the base. The builder (mobilenetv2.ts) and the Keras weight loader
 * (pretrained/keras-mobilenetv2.ts) both follow it, so the two cannot disagree.
 */

/** Width multipliers keras.applications.MobileNetV2 ships weights for. */
export const MOBILENETV2_ALPHAS = [0.35, 0.5, 0.75, 1, 1.3, 1.4] as const;
export type MobileNetV2Alpha = (typeof MOBILENETV2_ALPHAS)[number];

/** Inverted residual blocks: [output filters at α 1, stride, expansion], keras' block ids 0–16. */
export const BLOCKS: readonly (readonly [number, 1 | 2, number])[] = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6],
];

/** keras' `_make_divisible`: round to the nearest multiple of `divisor`, never more than 10% down. */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** keras' layer-name prefix of block `id`: `expanded_conv_` for block 0, `block_<id>_` after. */
export function blockPrefix(id: number): string {
  return id === 0 ? 'expanded_conv_' : `block_${id}_`;
}

/** Channels of the base's last conv, `Conv_1`: 1280, widened only for α > 1. */
export function topChannels(alpha: number): number {
  return alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
}

/** A layer of the base with weights, and its weights in keras' order. */
export interface LayerWeightsPlan {
  layer: string;
  weights: { param: string; shape: number[] }[];
}

const BN_PARAMS = ['gamma', 'beta', 'moving_mean', 'moving_variance'] as const;

/**
 * Every layer with weights of keras' `MobileNetV2(alpha=α, include_top=False)` (52 convs and 52 BatchNorms), in
 * model order, with keras' weight order and shapes: conv `kernel` [h, w, in, out], `depthwise_kernel`
 * [3, 3, channels, 1], BatchNorm gamma, beta, moving_mean, moving_variance [channels]. Independent of the input
 * size: the base is fully convolutional.
 */
export function mobileNetV2WeightPlan(alpha: number): LayerWeightsPlan[] {
  const plan: LayerWeightsPlan[] = [];
  const conv = (layer: string, shape: number[]) => plan.push({ layer, weights: [{ param: 'kernel', shape }] });
  const bn = (layer: string, channels: number) =>
    plan.push({ layer, weights: BN_PARAMS.map((param) => ({ param, shape: [channels] })) });
  let channels = makeDivisible(32 * alpha);
  conv('Conv1', [3, 3, 3, channels]);
  bn('bn_Conv1', channels);
  BLOCKS.forEach(([filters, , expansion], id) => {
    const p = blockPrefix(id);
    const out = makeDivisible(Math.trunc(filters * alpha));
    let inner = channels;
    if (id > 0) {
      inner = expansion * channels;
      conv(`${p}expand`, [1, 1, channels, inner]);
      bn(`${p}expand_BN`, inner);
    }
    plan.push({ layer: `${p}depthwise`, weights: [{ param: 'depthwise_kernel', shape: [3, 3, inner, 1] }] });
    bn(`${p}depthwise_BN`, inner);
    conv(`${p}project`, [1, 1, inner, out]);
    bn(`${p}project_BN`, out);
    channels = out;
  });
  conv('Conv_1', [1, 1, channels, topChannels(alpha)]);
  bn('Conv_1_bn', topChannels(alpha));
  return plan;
}

/** keras.applications' ImageNet weight file of the base for `alpha` and a published input size (96 … 224). */
export function kerasMobileNetV2FileName(alpha: number, size: number): string {
  const a = alpha === 1 ? '1.0' : String(alpha);
  return `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${a}_${size}_no_top.h5`;
}

/** The inverse of kerasMobileNetV2FileName, or undefined for any other name. */
export function parseKerasMobileNetV2FileName(name: string): { alpha: MobileNetV2Alpha; size: number } | undefined {
  const m = /^mobilenet_v2_weights_tf_dim_ordering_tf_kernels_([0-9.]+)_(96|128|160|192|224)_no_top\.h5$/.exec(name);
  const alpha = MOBILENETV2_ALPHAS.find((a) => a === Number(m?.[1]));
  return m && alpha !== undefined ? { alpha, size: Number(m[2]) } : undefined;
}
