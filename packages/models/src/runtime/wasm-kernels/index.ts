import {
  BatchMatMul,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getGradient,
  getKernel,
  MaxPoolGrad,
  registerGradient,
  registerKernel,
  unregisterGradient,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { makeBatchMatMulWasm } from './batch-mat-mul.js';
import { batchNormGradConfig } from './batch-norm-grad.js';
import { conv2DBackpropFilterWasm, makeConv2DBackpropInputWasm } from './conv2d-backprop.js';
import { depthwiseBackpropFilterStrategy } from './depthwise-filter.js';
import { depthwiseBackpropInputWasm, makeDepthwiseBackpropFilterWasm } from './depthwise-backprop.js';
import { maxPoolGradWasm } from './max-pool-grad.js';

/** Names of the kernels (and the one gradient) {@link registerWasmTrainingKernels} supplies. */
export const SUPPLIED_WASM_KERNELS = [
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  MaxPoolGrad,
  BatchMatMul,
] as const;

interface Saved {
  kernels: Map<string, KernelConfig | undefined>;
  gradient: GradConfig | undefined;
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
 * Conv2D/DepthwiseConv2dNative backprop (filter and input), MaxPoolGrad (negative maxima), BatchMatMul with
 * transposes, and a FusedBatchNorm gradient without `tile`. Idempotent; call before the first training step.
 * The gradient is global to tfjs (gradients are not per backend) and is equally correct on other backends.
 */
export function registerWasmTrainingKernels(): void {
  if (saved !== null) return;
  saved = { kernels: new Map(), gradient: getGradient(batchNormGradConfig.kernelName) };
  const stockMatMul = getKernel(BatchMatMul, 'wasm');
  if (stockMatMul === undefined) throw new Error('wasm BatchMatMul kernel missing: is @tensorflow/tfjs-backend-wasm loaded?');
  replace(Conv2DBackpropFilter, asKernelFunc(conv2DBackpropFilterWasm));
  replace(Conv2DBackpropInput, asKernelFunc(makeConv2DBackpropInputWasm(getKernel(Conv2DBackpropInput, 'wasm'))));
  replace(DepthwiseConv2dNativeBackpropFilter, asKernelFunc(makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterStrategy)));
  replace(DepthwiseConv2dNativeBackpropInput, asKernelFunc(depthwiseBackpropInputWasm));
  replace(MaxPoolGrad, asKernelFunc(maxPoolGradWasm));
  replace(BatchMatMul, asKernelFunc(makeBatchMatMulWasm(stockMatMul)));
  if (saved.gradient !== undefined) unregisterGradient(batchNormGradConfig.kernelName);
  registerGradient(batchNormGradConfig);
}

/** Restores the stock kernels and gradient (for benchmarks that compare against them, and tests). */
export function unregisterWasmTrainingKernels(): void {
  if (saved === null) return;
  for (const [name, stock] of saved.kernels) {
    unregisterKernel(name, 'wasm');
    if (stock !== undefined) registerKernel(stock);
  }
  unregisterGradient(batchNormGradConfig.kernelName);
  if (saved.gradient !== undefined) registerGradient(saved.gradient);
  saved = null;
}
