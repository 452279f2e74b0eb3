import { backend_util, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { dims4, f32, input, type WasmKernelArgs } from './kernel-utils.js';

/**
 * MaxPoolGrad that routes each dy to the first maximum of its window, like the cpu backend. The stock wasm
 * kernel starts its running max at 0, so a window whose values are all negative loses its gradient — and the
 * FER CNN pools right after BatchNorm, where such windows are common. Memory-bound, so a heap loop suffices.
 */
export function maxPoolGradWasm(args: WasmKernelArgs<MaxPoolGradAttrs>): TensorInfo {
  const { backend, attrs } = args;
  const dyInfo = input(args, 'dy');
  const xInfo = input(args, 'input');
  const info = backend_util.computePool2DInfo(
    dims4(xInfo.shape),
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  const out = backend.makeOutput(xInfo.shape.slice(), 'float32');
  const dx = f32(backend, out);
  dx.fill(0);
  const x = f32(backend, xInfo);
  const dy = f32(backend, dyInfo);
  // Channel-innermost: both the scan and the scatter walk contiguous memory.
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const y0 = Math.max(0, i * sh - p.top);
      const y1 = Math.min(h, i * sh - p.top + fh);
      for (let j = 0; j < ow; j++) {
        const x0 = Math.max(0, j * sw - p.left);
        const x1 = Math.min(w, j * sw - p.left + fw);
        if (y0 >= y1 || x0 >= x1) continue;
        const first = ((b * h + y0) * w + x0) * c;
        for (let k = 0; k < c; k++) {
          best[k] = x[first + k] as number;
          at[k] = first + k;
        }
        for (let y = y0; y < y1; y++) {
          for (let xc = y === y0 ? x0 + 1 : x0; xc < x1; xc++) {
            const base = ((b * h + y) * w + xc) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k] as number;
              if (v > (best[k] as number)) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          const idx = at[k] as number;
          dx[idx] = (dx[idx] as number) + (dy[dyBase + k] as number);
        }
      }
    }
  }
  return out;
}
