import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { assertNHWC } from '../conv-geometry.js';
import { runGemmTN } from '../gemm/gemm-tn.js';
import { dims4, explicitPad, f32, input, withScope, type WasmBackend, type WasmKernelArgs } from '../kernel-utils.js';
import { c1FilterApplies, conv2DBackpropFilterC1 } from './filter-c1.js';
import { conv2DBackpropFilterWinograd } from './filter-winograd.js';
import { winogradApplies } from './winograd-variants.js';

/**
 * Conv2DBackpropFilter: every formulation of the filter gradient and the choice between them
 * ({@link conv2DBackpropFilterAuto}); the Winograd and few-channel ones live in filter-winograd.ts and
 * filter-c1.ts beside this file.
 */

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co]. Read with ci as the batch,
 * (oh,ow) as the filter taps and n as the contracted channel, this is a forward conv2d of
 * x→[CI,H,W,N] with dy→[OH,OW,N,CO] at dilation = stride, which XNNPACK runs at forward speed.
 */
export function conv2DBackpropFilterWasm(args: WasmKernelArgs<Conv2DBackpropFilterAttrs>): TensorInfo {
  return conv2DBackpropFilterWith(args, conv2DBackpropFilterAuto);
}

/** Builds the kernel around one strategy (bench/kernels.mjs compares them). */
export function makeConv2DBackpropFilterWasm(strategy: Conv2DFilterStrategy) {
  return (args: WasmKernelArgs<Conv2DBackpropFilterAttrs>): TensorInfo => conv2DBackpropFilterWith(args, strategy);
}

export type Conv2DFilterStrategy = (
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
) => TensorInfo;

function conv2DBackpropFilterWith(
  args: WasmKernelArgs<Conv2DBackpropFilterAttrs>,
  strategy: Conv2DFilterStrategy,
): TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  assertNHWC(Conv2DBackpropFilter, attrs.dataFormat);
  const info = backend_util.computeConv2DInfo(
    dims4(x.shape),
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return strategy(backend, x, dy, info);
}

/**
 * Forward-conv formulation (see {@link conv2DBackpropFilterWasm}); pointwise stride-1 layers as one GEMM.
 */
export const conv2DBackpropFilterConv: Conv2DFilterStrategy = (backend, x, dy, info) => {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  return withScope(backend, (s) => {
    const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && p.top === 0 && p.left === 0;
    if (pointwise && ci % 4 === 0 && co % 4 === 0) {
      // dW = xᵀ·dy over every pixel on the transposed-A GEMM kernel: no transpose, no XNNPACK weight packing.
      const out = s.zeros([1, 1, ci, co]);
      runGemmTN(backend, { k: n * h * w, m: ci, n: co }, x, dy, out);
      return out;
    }
    if (pointwise) {
      // One GEMM: [CI, NHW] · [NHW, CO]. The explicit transpose beats BatchMatMul's transposeA path ~50×.
      const xt = s.transpose(s.reshape(x, [n * h * w, ci]), [1, 0]);
      const prod = s.run(
        'BatchMatMul',
        { a: s.reshape(xt, [1, ci, n * h * w]), b: s.reshape(dy, [1, n * oh * ow, co]) },
        {
          transposeA: false,
          transposeB: false,
        },
      );
      return s.reshape(prod, [1, 1, ci, co]);
    }
    const xt = s.transpose(x, [3, 1, 2, 0]);
    const dyt = s.transpose(dy, [1, 2, 0, 3]);
    let r = s.run(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [1, 1],
        pad: explicitPad(p.top, p.bottom, p.left, p.right),
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    );
    // With stride > 1 the correlation can run up to stride−1 taps past the filter: those are not weights.
    const [, rh, rw] = dims4(r.shape);
    if (rh !== kh || rw !== kw) r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    return s.transpose(r, [1, 2, 0, 3]);
  });
};

/** Floats of the per-chunk im2col block the shifted GEMM builds (16 MiB): keeps it and the GEMM in cache range. */
const GEMM_BLOCK_FLOATS = 4 << 20;

/**
 * "Shifted GEMM" for stride-1 convs. On the zero-padded grid Hg×Wg (Hg = OH+KH−1) with the images laid end to
 * end (row q = (n·Hg + i)·Wg + j), tap (u,v) of the filter is a constant flat offset d = u·Wg + v:
 *   dW[u,v,ci,co] = Σ_q xg[q + d, ci] · dyg[q, co],
 * where dyg is dy zero-extended to the grid (its extra rows/cols are 0, so no sum crosses a row or an image).
 * x is padded and transposed once to [CI, Q]; per block of grid rows, the KH·KW·CI shifted row windows are
 * copied into one [KH·KW·CI, K] matrix and multiplied by the block of dyg [K, CO] on XNNPACK's GEMM, which
 * yields [KH,KW,CI,CO] directly. Costs (Hg·Wg)/(OH·OW) more MACs than needed (1.09 at 48 px, 1.78 at 6 px).
 */
export const conv2DBackpropFilterGemm: Conv2DFilterStrategy = (backend, x, dy, info) =>
  conv2DBackpropFilterGemmBlocked(backend, x, dy, info, GEMM_BLOCK_FLOATS);

/** {@link conv2DBackpropFilterGemm} with a chosen im2col block size (tests use small ones to cover blocking). */
export function conv2DBackpropFilterGemmBlocked(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  blockFloats: number,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error('conv2DBackpropFilterGemm: stride 1 and dilation 1 only');
  }
  const hg = oh + kh - 1;
  const wg = ow + kw - 1;
  const grid = hg * wg;
  const rows = n * grid;
  const taps = kh * kw;
  const m = taps * ci;
  const block = Math.min(rows, Math.max(1, Math.floor(blockFloats / m)));
  return withScope(backend, (s) => {
    // One spare image of zeros at the end: the windows of the last rows read up to (KH−1)·Wg + KW−1 past them.
    const xg = s.run(
      'PadV2',
      { x },
      {
        paddings: [
          [0, 1],
          [p.top, hg - h - p.top],
          [p.left, wg - w - p.left],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const xt = ci === 1 ? xg : s.transpose(s.reshape(xg, [(n + 1) * grid, ci]), [1, 0]);
    const dyg = s.padHW(dy, 0, kh - 1, 0, kw - 1);
    const a = s.track(backend.makeOutput([1, m, block], 'float32'));
    const out = s.zeros([kh, kw, ci, co]);
    const xStride = (n + 1) * grid;
    for (let k0 = 0; k0 < rows; k0 += block) {
      const len = Math.min(block, rows - k0);
      // The last block is shorter: its A is a fresh [m, len] matrix (rows must be contiguous).
      const aBlock = len === block ? a : s.track(backend.makeOutput([1, m, len], 'float32'));
      // A fresh B for every block: XNNPACK caches the packed weights of a GEMM by the B tensor.
      const b = backend.makeOutput([1, len, co], 'float32');
      let prod: TensorInfo | null = null;
      try {
        const heap = backend.wasm.HEAPF32;
        const xBase = backend.getMemoryOffset(xt.dataId) / 4;
        const aBase = backend.getMemoryOffset(aBlock.dataId) / 4;
        for (let u = 0, r = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const src = xBase + k0 + u * wg + v;
            for (let c = 0; c < ci; c++, r++)
              heap.copyWithin(aBase + r * len, src + c * xStride, src + c * xStride + len);
          }
        }
        const dyBase = backend.getMemoryOffset(dyg.dataId) / 4 + k0 * co;
        heap.copyWithin(backend.getMemoryOffset(b.dataId) / 4, dyBase, dyBase + len * co);
        prod = s.run('BatchMatMul', { a: aBlock, b }, { transposeA: false, transposeB: false });
        const acc = f32(backend, out);
        const part = f32(backend, prod);
        for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (part[i] as number);
      } finally {
        backend.disposeData(b.dataId);
        if (prod !== null) backend.disposeData(s.keep(prod).dataId);
        if (aBlock !== a) backend.disposeData(s.keep(aBlock).dataId);
      }
    }
    return out;
  });
}

/**
 * The strategy the registered kernel uses: the shifted GEMM for stride-1 spatial filters where the grid's
 * padding waste is small (≥ 12 px), the forward-conv formulation otherwise.
 */
export const conv2DBackpropFilterAuto: Conv2DFilterStrategy = (backend, x, dy, info) => {
  const gemm =
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.filterHeight * info.filterWidth > 1 &&
    info.outHeight >= 12 &&
    info.outWidth >= 12;
  if (winogradApplies(info)) return conv2DBackpropFilterWinograd(backend, x, dy, info);
  if (c1FilterApplies(info)) return conv2DBackpropFilterC1(backend, x, dy, info);
  return gemm ? conv2DBackpropFilterGemm(backend, x, dy, info) : conv2DBackpropFilterConv(backend, x, dy, info);
};
