import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { runGemmTN } from '../gemm/gemm-tn.js';
import { f32, heapOffset, withScope, type WasmBackend } from '../kernel-utils.js';
import { cachedKernel } from '../../wasm/index.js';
import { encodeFilterTransform, encodeGradTransform, encodeInputTransform } from './winograd-codegen.js';
import { variantFor } from './winograd-variants.js';
import { imagesPerChunk, memoryOf, planeOffsets, planeSet } from './winograd.js';

/**
 * Winograd filter gradient of the same convolutions: dU_p = V_pᵀ · M'_p summed over every tile of every image
 * (V = Bᵀ d B of the padded input, M' = A dY Aᵀ, both [tiles, channels]: the contraction runs over tiles, on a
 * transposed-A GEMM kernel of our own, {@link runGemmTN}), then dW = Gᵀ dU G. Call only when
 * {@link winogradApplies}.
 */
export function conv2DBackpropFilterWinograd(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const v = variantFor(info);
  if (v === null) throw new Error('conv2DBackpropFilterWinograd: not a 3×3 stride-1 same convolution');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const planes = v.alpha * v.alpha;
  const memory = memoryOf(backend);
  return withScope(backend, (s) => {
    const xp = s.padHW(x, 1, 1, 1, 1);
    const chunk = imagesPerChunk(v, { n, h, w, c: ci }, Math.max(ci, co));
    // dU_p accumulates over every chunk: the GEMM adds into it.
    const acc = planeSet(s, planes, ci, co);
    f32(backend, acc).fill(0);
    const accAt = planeOffsets(heapOffset(backend, acc), planes, ci, co);
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const nc = Math.min(chunk, n - i0);
      const tiles = nc * (h / v.m) * (w / v.m);
      const shapeIn = { n: nc, h, w, c: ci };
      const shapeDy = { n: nc, h, w, c: co };
      const inT = cachedKernel(`wino-in:${v.m}:${JSON.stringify(shapeIn)}`, memory, () =>
        encodeInputTransform(v, shapeIn),
      );
      const gradT = cachedKernel(`wino-grad:${v.m}:${JSON.stringify(shapeDy)}`, memory, () =>
        encodeGradTransform(v, shapeDy),
      );
      const vp = planeSet(s, planes, tiles, ci);
      const mg = planeSet(s, planes, tiles, co);
      const vpAt = planeOffsets(heapOffset(backend, vp), planes, tiles, ci);
      const mgAt = planeOffsets(heapOffset(backend, mg), planes, tiles, co);
      inT(heapOffset(backend, xp) + i0 * (h + 2) * (w + 2) * ci * 4, ...vpAt);
      gradT(heapOffset(backend, dy) + i0 * h * w * co * 4, ...mgAt);
      for (let p = 0; p < planes; p++) runGemmTN(backend, { k: tiles, m: ci, n: co }, vpAt[p]!, mgAt[p]!, accAt[p]!);
      for (const t of [vp, mg]) backend.disposeData(s.keep(t).dataId);
    }
    const dw = s.track(backend.makeOutput([3, 3, ci, co], 'float32'));
    const back = cachedKernel(`wino-filter:${v.m}:${ci * co}:b`, memory, () =>
      encodeFilterTransform(v, ci * co, 'backward'),
    );
    back(...accAt, heapOffset(backend, dw));
    return dw;
  });
}
