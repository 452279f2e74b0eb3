import type { backend_util, DepthwiseConv2dNativeBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import { dims4, explicitPad, f32, input, withScope, type WasmBackend, type WasmKernelArgs } from '../kernel-utils.js';
import { depthwiseBackpropFilterSimd, simdFilterApplies } from './filter-simd.js';
import { depthwiseInfo } from './geometry.js';

/** DepthwiseConv2dNativeBackpropFilter: its strategies (loop, XNNPACK, the SIMD loop of filter-simd.ts). */

/**
 * dW[kh,kw,c] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, c] · dy[n,oh,ow,c], as a typed-array loop over the
 * heap with the channel innermost (contiguous in NHWC for both operands). Kept as the reference strategy.
 */
export function depthwiseBackpropFilterLoop(
  backend: WasmBackend,
  xInfo: TensorInfo,
  dyInfo: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  const acc = new Float64Array(kh * kw * c);
  const x = f32(backend, xInfo);
  const dy = f32(backend, dyInfo);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let u = 0; u < kh; u++) {
          const y = i * sh - p.top + u;
          if (y < 0 || y >= h) continue;
          for (let v = 0; v < kw; v++) {
            const xcol = j * sw - p.left + v;
            if (xcol < 0 || xcol >= w) continue;
            const xBase = ((b * h + y) * w + xcol) * c;
            const aBase = (u * kw + v) * c;
            for (let k = 0; k < c; k++)
              acc[aBase + k] = (acc[aBase + k] as number) + (x[xBase + k] as number) * (dy[dyBase + k] as number);
          }
        }
      }
    }
  }
  const out = backend.makeOutput([kh, kw, c, 1], 'float32');
  f32(backend, out).set(acc);
  return out;
}

export type DepthwiseFilterStrategy = (
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
) => TensorInfo;

/** Builds the DepthwiseConv2dNativeBackpropFilter kernel around one strategy (swappable for benchmarks). */
export function makeDepthwiseBackpropFilterWasm(strategy: DepthwiseFilterStrategy) {
  return (args: WasmKernelArgs<DepthwiseConv2dNativeBackpropFilterAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const dy = input(args, 'dy');
    const info = depthwiseInfo(
      'DepthwiseConv2dNativeBackpropFilter',
      dims4(x.shape),
      args.attrs.filterShape,
      args.attrs,
    );
    return strategy(args.backend, x, dy, info);
  };
}

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
