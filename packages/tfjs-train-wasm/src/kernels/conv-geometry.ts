import type { backend_util } from '@tensorflow/tfjs-core';
import { type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, type KernelScope } from './kernel-utils.js';

/**
 * Spreads dy [N,OH,OW,C] onto a zero grid [N, OH*sh - (sh-1) + extraH, ...]: the "dilated" dy whose
 * stride-1 correlation with the flipped filter is the stride-s input gradient. Done as a heap copy:
 * it is memory-bound and small next to the convolution that follows.
 */
export function dilateNHWC(scope: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  if (sh === 1 && sw === 1) return dy;
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const out = scope.zeros([n, dh, dw, c]);
  const src = f32(scope.backend, dy);
  const dst = f32(scope.backend, out);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      let s = (b * oh + i) * ow * c;
      let d = (b * dh + i * sh) * dw * c;
      for (let j = 0; j < ow; j++, s += c, d += sw * c) {
        if (c >= 16) dst.set(src.subarray(s, s + c), d);
        else for (let k = 0; k < c; k++) dst[d + k] = src[s + k] as number;
      }
    }
  }
  return out;
}

/**
 * Padding of the stride-1 correlation that maps the dilated dy back onto the input grid:
 * out = dilated + top + bottom - K + 1 must equal the input size. Returns null where a side would be
 * negative (padding larger than the filter), which the caller hands to a fallback.
 */
export function backpropInputPadding(
  info: backend_util.Conv2DInfo,
): { top: number; bottom: number; left: number; right: number } | null {
  const dh = (info.outHeight - 1) * info.strideHeight + 1;
  const dw = (info.outWidth - 1) * info.strideWidth + 1;
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - dh - top + info.filterHeight - 1;
  const right = info.inWidth - dw - left + info.filterWidth - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return { top, bottom, left, right };
}

/** The supplied convolution gradients take NHWC only (what tfjs-layers emits). */
export function assertNHWC(kernel: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
}
