import {
  Add,
  BatchMatMul,
  Cast,
  ClipByValue,
  Concat,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedBatchNorm,
  FusedConv2D,
  getGradient,
  getKernel,
  Identity,
  MaxPoolGrad,
  Mean,
  Multiply,
  PadV2,
  RealDiv,
  registerGradient,
  registerKernel,
  Relu,
  Relu6,
  Sub,
  Sum,
  Transpose,
  unregisterGradient,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { initWasmSimd } from '../wasm/index.js';
import { makeBatchMatMulWasm } from './gemm/batch-mat-mul.js';
import { ADAM_UPDATE, adamUpdateWasm } from './adam/adam-update.js';
import { batchNormGradConfig } from './batch-norm/grad.js';
import {
  BATCH_NORM_BACKPROP,
  BATCH_NORM_MOVING,
  BATCH_NORM_STATS,
  batchNormBackpropWasm,
  batchNormMovingWasm,
  batchNormStatsWasm,
} from './batch-norm/train.js';
import { makeChannelBinaryWasm, makeFusedBatchNormWasm } from './channel-ops/channel-ops.js';
import { conv2DBackpropFilterWasm } from './conv2d/filter.js';
import { makeConv2DBackpropInputWasm } from './conv2d/input.js';
import { depthwiseBackpropFilterStrategy, makeDepthwiseBackpropFilterWasm } from './depthwise/filter.js';
import { depthwiseBackpropInputWasm } from './depthwise/input.js';
import { MASKED_GRAD, maskedGradConfigs, maskedGradWasm } from './activations/masked-grad.js';
import { maxPoolGradWasm } from './pooling/max-pool-grad.js';
import { makeMeanWasm, makeSumWasm } from './reductions/reductions.js';
import { makeCastWasm, makeConcatWasm, makeIdentityWasm } from './share/share.js';
import { makeConv2DWasm, makeFusedConv2DWasm } from './conv2d/winograd.js';
import { makeTransposeWasm } from './transpose/transpose.js';
import { makePadWasm } from './pad/pad.js';

/** Names of the kernels (and the one gradient) {@link registerWasmTrainingKernels} supplies. */
export const SUPPLIED_WASM_KERNELS = [
  Conv2D,
  FusedConv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  MaxPoolGrad,
  BatchMatMul,
  Transpose,
  PadV2,
  Sum,
  Mean,
  Identity,
  Cast,
  Concat,
  Multiply,
  Add,
  Sub,
  RealDiv,
  FusedBatchNorm,
  MASKED_GRAD,
  BATCH_NORM_STATS,
  BATCH_NORM_BACKPROP,
  BATCH_NORM_MOVING,
  ADAM_UPDATE,
] as const;

/** Gradients {@link registerWasmTrainingKernels} replaces (globally; see there). */
export const SUPPLIED_GRADIENTS = [FusedBatchNorm, ClipByValue, Relu, Relu6] as const;

interface Saved {
  kernels: Map<string, KernelConfig | undefined>;
  gradients: Map<string, GradConfig | undefined>;
}
let saved: Saved | null = null;

/**
 * Kernel functions receive the backend as `{}` (tfjs-core's registry is backend-agnostic); ours take the wasm
 * backend's structural type. This cast is the one tfjs-internal boundary of the module.
 */
function asKernelFunc(f: (args: never) => unknown): KernelFunc {
  return f as unknown as KernelFunc;
}

/**
 * Swaps in our kernel. The stock setupFunc (it binds the C++ entry point) is carried over so that a stock
 * kernel we fall back to still works when the backend is initialised after registration.
 */
function replace(kernelName: string, kernelFunc: KernelFunc): void {
  const stock = getKernel(kernelName, 'wasm');
  saved?.kernels.set(kernelName, stock);
  if (stock !== undefined) unregisterKernel(kernelName, 'wasm');
  const setupFunc = stock?.setupFunc;
  registerKernel({ kernelName, backendName: 'wasm', kernelFunc, ...(setupFunc ? { setupFunc } : {}) });
}

/**
 * Registers correct, fast training kernels on tfjs' wasm backend (tfjs 4.22 lacks or breaks them):
 * Conv2D/FusedConv2D as Winograd F(4,3)/F(2,3) where they are 3×3 stride-1 'same' with ≥ 16 channels;
 * Conv2D/DepthwiseConv2dNative backprop (filter and input); MaxPoolGrad (negative maxima); BatchMatMul with
 * transposes; Sum/Mean over leading axes; Identity and same-dtype Cast that share their input's buffer instead of
 * copying it (tfjs clones every tensor a gradient saves); SIMD per-channel/scalar broadcasts for
 * Multiply/Add/Sub/RealDiv; a one-pass FusedBatchNorm and its gradient without `tile`; one-pass ClipByValue,
 * Relu and Relu6 gradients; and the kernels behind src/batch-norm.ts (training BatchNorm) and
 * src/adam.ts (fused Adam). The generated GEMM, Winograd and convolution-gradient loops use relaxed-SIMD
 * multiply-adds where the engine has them (see wasm/features.ts). Idempotent; call before the first training step.
 * Gradients are global to tfjs (not per backend): the BatchNorm one is correct on every backend, the masked ones
 * use their fused kernel only while wasm is the active backend and tfjs-core's composition otherwise.
 */
export function registerWasmTrainingKernels(): void {
  if (saved !== null) return;
  initWasmSimd(); // relaxed-SIMD multiply-adds where the engine has them (FERSWEEP_WASM_RELAXED_SIMD=0: SIMD128)
  const stock = (name: string): KernelConfig => {
    const k = getKernel(name, 'wasm');
    if (k === undefined) throw new Error(`wasm ${name} kernel missing: is @tensorflow/tfjs-backend-wasm loaded?`);
    return k;
  };
  const stockMatMul = stock(BatchMatMul);
  const stockSum = stock(Sum);
  const stockMean = stock(Mean);
  const gradients = [
    batchNormGradConfig,
    ...maskedGradConfigs({ clip: getGradient(ClipByValue), relu: getGradient(Relu), relu6: getGradient(Relu6) }),
  ];
  saved = { kernels: new Map(), gradients: new Map(gradients.map((g) => [g.kernelName, getGradient(g.kernelName)])) };
  replace(Conv2D, asKernelFunc(makeConv2DWasm(stock(Conv2D))));
  replace(FusedConv2D, asKernelFunc(makeFusedConv2DWasm(stock(FusedConv2D))));
  replace(Conv2DBackpropFilter, asKernelFunc(conv2DBackpropFilterWasm));
  replace(Conv2DBackpropInput, asKernelFunc(makeConv2DBackpropInputWasm(getKernel(Conv2DBackpropInput, 'wasm'))));
  replace(
    DepthwiseConv2dNativeBackpropFilter,
    asKernelFunc(makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterStrategy)),
  );
  replace(DepthwiseConv2dNativeBackpropInput, asKernelFunc(depthwiseBackpropInputWasm));
  replace(MaxPoolGrad, asKernelFunc(maxPoolGradWasm));
  replace(BatchMatMul, asKernelFunc(makeBatchMatMulWasm(stockMatMul)));
  replace(Transpose, asKernelFunc(makeTransposeWasm(stock(Transpose))));
  replace(PadV2, asKernelFunc(makePadWasm(stock(PadV2))));
  replace(Sum, asKernelFunc(makeSumWasm(stockSum)));
  replace(Mean, asKernelFunc(makeMeanWasm(stockMean)));
  replace(MASKED_GRAD, asKernelFunc(maskedGradWasm));
  replace(BATCH_NORM_STATS, asKernelFunc(batchNormStatsWasm));
  replace(BATCH_NORM_BACKPROP, asKernelFunc(batchNormBackpropWasm));
  replace(BATCH_NORM_MOVING, asKernelFunc(batchNormMovingWasm));
  replace(ADAM_UPDATE, asKernelFunc(adamUpdateWasm));
  replace(Identity, asKernelFunc(makeIdentityWasm(stock(Identity))));
  replace(Cast, asKernelFunc(makeCastWasm(stock(Cast))));
  replace(Concat, asKernelFunc(makeConcatWasm(stock(Concat))));
  for (const name of [Multiply, Add, Sub, RealDiv] as const) {
    replace(name, asKernelFunc(makeChannelBinaryWasm(name, stock(name))));
  }
  replace(FusedBatchNorm, asKernelFunc(makeFusedBatchNormWasm(stock(FusedBatchNorm))));
  for (const g of gradients) {
    if (saved.gradients.get(g.kernelName) !== undefined) unregisterGradient(g.kernelName);
    registerGradient(g);
  }
}

/** Restores the stock kernels and gradient (for benchmarks that compare against them, and tests). */
export function unregisterWasmTrainingKernels(): void {
  if (saved === null) return;
  for (const [name, stock] of saved.kernels) {
    unregisterKernel(name, 'wasm');
    if (stock !== undefined) registerKernel(stock);
  }
  for (const [name, stock] of saved.gradients) {
    unregisterGradient(name);
    if (stock !== undefined) registerGradient(stock);
  }
  saved = null;
}
