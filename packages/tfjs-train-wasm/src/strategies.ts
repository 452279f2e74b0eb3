import type { KernelFunc } from '@tensorflow/tfjs-core';
import { c1FilterApplies, conv2DBackpropFilterC1 } from './kernels/conv2d/filter-c1.js';
import {
  conv2DBackpropFilterAuto,
  conv2DBackpropFilterConv,
  conv2DBackpropFilterGemm,
  conv2DBackpropFilterGemmBlocked,
  makeConv2DBackpropFilterWasm,
} from './kernels/conv2d/filter.js';
import {
  depthwiseBackpropFilterLoop,
  depthwiseBackpropFilterStrategy,
  depthwiseBackpropFilterXnn,
  makeDepthwiseBackpropFilterWasm,
} from './kernels/depthwise/filter.js';
import {
  depthwiseBackpropInputLoop,
  depthwiseBackpropInputXnn,
  makeDepthwiseBackpropInputWasm,
} from './kernels/depthwise/input.js';
import { depthwiseBackpropInputStride2, stride2InputApplies } from './kernels/depthwise/input-stride2.js';

/**
 * `@fersweep/tfjs-train-wasm/strategies`: the alternative implementations of the gradient kernels, as
 * ready-to-register kernel functions, so that the choice registerWasmTrainingKernels makes can be re-measured
 * (bench/kernels.mjs) and each one checked against the cpu backend (the kernel tests). Not needed to train.
 */
export const depthwiseFilterStrategies: Record<string, KernelFunc> = {
  loop: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterLoop) as unknown as KernelFunc,
  xnn: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterXnn) as unknown as KernelFunc,
  simd: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterStrategy) as unknown as KernelFunc,
};

export const depthwiseInputStrategies: Record<string, KernelFunc> = {
  loop: makeDepthwiseBackpropInputWasm(depthwiseBackpropInputLoop) as unknown as KernelFunc,
  xnn: makeDepthwiseBackpropInputWasm(depthwiseBackpropInputXnn) as unknown as KernelFunc,
  /** The stride-2 SIMD kernel where it applies, XNNPACK elsewhere. */
  stride2: makeDepthwiseBackpropInputWasm((backend, dy, filter, info) =>
    stride2InputApplies(info)
      ? depthwiseBackpropInputStride2(backend, dy, filter, info)
      : depthwiseBackpropInputXnn(backend, dy, filter, info),
  ) as unknown as KernelFunc,
};

/** Conv2DBackpropFilter strategies; the gemm ones take stride-1 convs only. `gemm-blocks` uses tiny blocks. */
export const conv2DFilterStrategies: Record<string, KernelFunc> = {
  conv: makeConv2DBackpropFilterWasm(conv2DBackpropFilterConv) as unknown as KernelFunc,
  gemm: makeConv2DBackpropFilterWasm(conv2DBackpropFilterGemm) as unknown as KernelFunc,
  'gemm-blocks': makeConv2DBackpropFilterWasm((backend, x, dy, info) =>
    conv2DBackpropFilterGemmBlocked(backend, x, dy, info, 200),
  ) as unknown as KernelFunc,
  /** The one-input-channel SIMD loop where it applies, the conv formulation elsewhere. */
  c1: makeConv2DBackpropFilterWasm((backend, x, dy, info) =>
    c1FilterApplies(info)
      ? conv2DBackpropFilterC1(backend, x, dy, info)
      : conv2DBackpropFilterConv(backend, x, dy, info),
  ) as unknown as KernelFunc,
  /** What the registered kernel does (Winograd, the C1 loop, the GEMM or the conv, by shape). */
  auto: makeConv2DBackpropFilterWasm(conv2DBackpropFilterAuto) as unknown as KernelFunc,
};
