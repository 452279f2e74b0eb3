import {
  type backend_util,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { backpropInputPadding, dilateNHWC } from '../conv-geometry.js';
import { dims4, explicitPad, f32, input, withScope, type WasmBackend, type WasmKernelArgs } from '../kernel-utils.js';
import { depthwiseInfo } from './geometry.js';
import { depthwiseBackpropInputStride2, stride2InputApplies } from './input-stride2.js';

/**
 * 3×3 stride-2 layers: a SIMD kernel by output parity (input-stride2.ts). Others: dx = depthwise correlation
 * of the stride-dilated dy with the flipped filter (multiplier 1 keeps the filter's [KH,KW,C,1] layout) on XNNPACK.
 */
export function depthwiseBackpropInputWasm(args: WasmKernelArgs<DepthwiseConv2dNativeBackpropInputAttrs>): TensorInfo {
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const info = depthwiseInfo(
    'DepthwiseConv2dNativeBackpropInput',
    args.attrs.inputShape,
    dims4(filter.shape),
    args.attrs,
  );
  if (stride2InputApplies(info)) return depthwiseBackpropInputStride2(args.backend, dy, filter, info);
  return depthwiseBackpropInputXnn(args.backend, dy, filter, info);
}

/** Builds the DepthwiseConv2dNativeBackpropInput kernel around one strategy (swappable for benchmarks). */
export function makeDepthwiseBackpropInputWasm(strategy: DepthwiseInputStrategy) {
  return (args: WasmKernelArgs<DepthwiseConv2dNativeBackpropInputAttrs>): TensorInfo => {
    const dy = input(args, 'dy');
    const filter = input(args, 'filter');
    const info = depthwiseInfo(
      'DepthwiseConv2dNativeBackpropInput',
      args.attrs.inputShape,
      dims4(filter.shape),
      args.attrs,
    );
    return strategy(args.backend, dy, filter, info);
  };
}

export type DepthwiseInputStrategy = (
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
) => TensorInfo;

/** XNNPACK strategy for the input gradient; falls back to the loop where padding exceeds the filter. */
export function depthwiseBackpropInputXnn(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const pad = backpropInputPadding(info);
  if (pad === null) return depthwiseBackpropInputLoop(backend, dy, filter, info);
  return withScope(backend, (s) => {
    const flipped = s.flipSpatial(filter);
    const spread = dilateNHWC(s, dy, info.strideHeight, info.strideWidth);
    return s.run(
      'DepthwiseConv2dNative',
      { x: spread, filter: flipped },
      { strides: [1, 1], pad: explicitPad(pad.top, pad.bottom, pad.left, pad.right), dilations: [1, 1] },
    );
  });
}

/** Reference/fallback input gradient over the heap, channel-innermost. */
export function depthwiseBackpropInputLoop(
  backend: WasmBackend,
  dyInfo: TensorInfo,
  filterInfo: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  const out = backend.makeOutput([n, h, w, c], 'float32');
  const dx = f32(backend, out);
  dx.fill(0);
  const dy = f32(backend, dyInfo);
  const f = f32(backend, filterInfo);
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
            const dxBase = ((b * h + y) * w + xcol) * c;
            const fBase = (u * kw + v) * c;
            for (let k = 0; k < c; k++)
              dx[dxBase + k] = (dx[dxBase + k] as number) + (dy[dyBase + k] as number) * (f[fBase + k] as number);
          }
        }
      }
    }
  }
  return out;
}
