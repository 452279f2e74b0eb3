import {
  backend_util,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
} from '@tensorflow/tfjs-core';

/** The convolution geometry of a depthwise gradient; the supplied kernels take dilation 1, multiplier 1. */
export function depthwiseInfo(
  kernel: string,
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs | DepthwiseConv2dNativeBackpropInputAttrs,
): backend_util.Conv2DInfo {
  const d = attrs.dilations;
  if (!(d === undefined || d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1))) {
    throw new Error(`${kernel} on wasm supports dilation 1 only, got ${String(d)}`);
  }
  if (filterShape[3] !== 1)
    throw new Error(`${kernel} on wasm supports channel multiplier 1 only, got ${filterShape[3]}`);
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true);
}
