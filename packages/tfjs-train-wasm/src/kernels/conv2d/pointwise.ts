import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, withScope, type WasmBackend } from '../kernel-utils.js';
import { runGemmNN } from '../gemm/gemm-tn.js';
import type { Epilogue } from './winograd-codegen.js';

/**
 * Whether a convolution is a pointwise one (1×1, stride 1, no dilation or padding) that runs as one unpacked GEMM:
 * N·H·W and the output channels multiples of 4.
 */
export function pointwiseGemmApplies(info: backend_util.Conv2DInfo): boolean {
  const { padInfo: p } = info;
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top === 0 &&
    p.bottom === 0 &&
    p.left === 0 &&
    p.right === 0 &&
    (info.batchSize * info.inHeight * info.inWidth) % 4 === 0 &&
    info.outChannels % 4 === 0
  );
}

/**
 * A pointwise Conv2D (NHWC) as y[N·H·W, CO] = x[N·H·W, CI] · filter[CI, CO] (+ bias, activation): the GEMM reads the
 * filter as stored, where XNNPACK's convolution packs it on every call with a filter it has not seen (every
 * training step; see gemm/batch-mat-mul.ts). The bias is the GEMM's initial output; ReLU/ReLU6 run after it.
 */
export function conv2DPointwise(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  bias: TensorInfo | null = null,
  activation: Epilogue['activation'] = 'linear',
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const rows = n * h * w;
  return withScope(backend, (s) => {
    const y = s.track(backend.makeOutput([n, h, w, co], 'float32'));
    const out = f32(backend, y);
    if (bias === null) out.fill(0);
    else {
      // Every row starts as the bias: one row, then doubling copies.
      out.set(f32(backend, bias).subarray(0, co));
      for (let filled = co; filled < out.length; filled *= 2)
        out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
    }
    runGemmNN(backend, { k: ci, m: rows, n: co }, x, filter, y);
    if (activation === 'linear') return y;
    return s.run(activation === 'relu' ? 'Relu' : 'Relu6', { x: y });
  });
}
