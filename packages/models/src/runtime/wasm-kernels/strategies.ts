import type { KernelFunc } from '@tensorflow/tfjs-core';
import {
  depthwiseBackpropFilterLoop,
  depthwiseBackpropInputLoop,
  depthwiseBackpropInputXnn,
  makeDepthwiseBackpropFilterWasm,
  makeDepthwiseBackpropInputWasm,
} from './depthwise-backprop.js';
import { depthwiseBackpropFilterStrategy, depthwiseBackpropFilterXnn } from './depthwise-filter.js';

/**
 * The alternative implementations measured by bench/kernels.mjs, as ready-to-register kernel functions.
 * Not part of the package's public API; kept so the choice in index.ts can be re-measured.
 */
export const depthwiseFilterStrategies: Record<string, KernelFunc> = {
  loop: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterLoop) as unknown as KernelFunc,
  xnn: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterXnn) as unknown as KernelFunc,
  simd: makeDepthwiseBackpropFilterWasm(depthwiseBackpropFilterStrategy) as unknown as KernelFunc,
};

export const depthwiseInputStrategies: Record<string, KernelFunc> = {
  loop: makeDepthwiseBackpropInputWasm(depthwiseBackpropInputLoop) as unknown as KernelFunc,
  xnn: makeDepthwiseBackpropInputWasm(depthwiseBackpropInputXnn) as unknown as KernelFunc,
};
