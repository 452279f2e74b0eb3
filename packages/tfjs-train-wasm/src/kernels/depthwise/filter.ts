import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseBackpropFilterLoop, type DepthwiseFilterStrategy } from './depthwise-backprop.js';
import { depthwiseBackpropFilterSimd, simdFilterApplies } from './depthwise-filter-simd.js';
import { explicitPad, withScope, type WasmBackend } from './kernel-utils.js';

/**
 * XNNPACK formulation: with (n,c) as channels and dy as a per-channel filter, dW is a depthwise conv of
 * x→[1,H,W,N·C] with dy→[OH,OW,N·C,1] at dilation = stride, summed over n.
 */
export function depthwiseBackpropFilterXnn(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  return withScope(backend, (s) => {
    const xt = s.reshape(s.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]);
    const dyt = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [oh, ow, n * c, 1]);
    let r = s.run(
      'DepthwiseConv2dNative',
      { x: xt, filter: dyt },
      { strides: [1, 1], pad: explicitPad(p.top, p.bottom, p.left, p.right), dilations: [sh, sw] },
    );
    if (r.shape[1] !== kh || r.shape[2] !== kw)
      r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [1, kh, kw, n * c] });
    const summed = s.run('Sum', { x: s.reshape(r, [kh, kw, n, c]) }, { axis: [2], keepDims: false });
    return s.reshape(summed, [kh, kw, c, 1]);
  });
}

/**
 * The strategy the registered kernel uses (the fastest measured in bench/kernels.mjs): the generated SIMD loop
 * for whole 4-channel blocks (every MobileNetV2 layer), the typed-array loop otherwise.
 */
export const depthwiseBackpropFilterStrategy: DepthwiseFilterStrategy = (backend, x, dy, info) =>
  simdFilterApplies(info)
    ? depthwiseBackpropFilterSimd(backend, x, dy, info)
    : depthwiseBackpropFilterLoop(backend, x, dy, info);
export { depthwiseBackpropFilterLoop };
export type { WasmBackend };
