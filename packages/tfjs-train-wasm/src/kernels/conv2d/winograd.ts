import {
  backend_util,
  type Conv2DAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  dims4,
  f32,
  heapOffset,
  input,
  withScope,
  type KernelScope,
  type WasmBackend,
  type WasmKernelArgs,
} from '../kernel-utils.js';
import { runGemmNN } from '../gemm/gemm-tn.js';
import { cachedKernel } from '../../wasm/index.js';
import {
  encodeFilterTransform,
  encodeInputTransform,
  encodeOutputTransform,
  range,
  type Epilogue,
  type TileShape,
} from './winograd-codegen.js';
import { variantFor, winogradApplies, type Variant } from './winograd-variants.js';
import { conv2DPointwise, pointwiseGemmApplies } from './pointwise.js';

/** Winograd Conv2D and FusedConv2D (the forward pass); the algebra and its limits: winograd-variants.ts. */

// ---------------------------------------------------------------------------------------------------------
// Kernels.

export const memoryOf = (backend: WasmBackend): object => backend.wasm.asm.memory;

/** Tunables (tests lower `chunkBytes` to cover the chunked paths with small tensors). */
export const winogradTuning = {
  /**
   * Bytes of one set of α² planes: images are transformed and multiplied in chunks of about this size (the
   * input and product planes of a chunk are held together).
   */
  chunkBytes: 16 << 20,
};

/** Images per pass: keeps each plane set near `chunkBytes` so the GEMMs and transforms stay in cache range. */
export function imagesPerChunk(v: Variant, s: TileShape, channels: number): number {
  const bytesPerImage = (s.h / v.m) * (s.w / v.m) * v.alpha * v.alpha * channels * 4;
  return Math.max(1, Math.min(s.n, Math.floor(winogradTuning.chunkBytes / bytesPerImage)));
}

/**
 * Bytes from one plane of `rows` × `cols` floats to the next in a set of α² planes: one cache line more than the
 * plane. Transforms write a value to every plane for each tile, and planes a power-of-two multiple of 4 KiB
 * apart (most are) would all map to the same few L1/L2 sets: measured, 25–35% slower per conv at batch 32.
 */
export function planeStride(rows: number, cols: number): number {
  return rows * cols * 4 + 64;
}

/** Byte offsets of the α² planes of a plane set at `base` ({@link planeStride} apart). */
export function planeOffsets(base: number, planes: number, rows: number, cols: number): number[] {
  return range(planes).map((p) => base + p * planeStride(rows, cols));
}

/** A tracked buffer for α² planes of `rows` × `cols` floats, {@link planeStride} apart. */
export function planeSet(s: KernelScope, planes: number, rows: number, cols: number): TensorInfo {
  return s.track(s.backend.makeOutput([(planes * planeStride(rows, cols)) / 4], 'float32'));
}

/** U = G g Gᵀ for every (ci, co): plane p of the set holds U_p [CI, CO]. */
function transformFilter(
  backend: WasmBackend,
  scope: KernelScope,
  v: Variant,
  filter: TensorInfo,
  ci: number,
  co: number,
): TensorInfo {
  const planes = v.alpha * v.alpha;
  const u = planeSet(scope, planes, ci, co);
  const run = cachedKernel(`wino-filter:${v.m}:${ci * co}:f`, memoryOf(backend), () =>
    encodeFilterTransform(v, ci * co, 'forward'),
  );
  run(heapOffset(backend, filter), ...planeOffsets(heapOffset(backend, u), planes, ci, co));
  return u;
}

/**
 * M_p = V_p · U_p for every plane of the sets V (rows × CI) and U (CI × CO), into a new set (rows × CO): fersweep's
 * GEMM plane by plane, without a kernel call per plane, each product zeroed just before its GEMM adds into it
 * (still in cache). `rows` is a multiple of 4 (the GEMM's row block; tile counts are rounded up to it).
 */
function planeProducts(
  s: KernelScope,
  v: Variant,
  rows: number,
  ci: number,
  co: number,
  vin: TensorInfo,
  u: TensorInfo,
): TensorInfo {
  const planes = v.alpha * v.alpha;
  const out = planeSet(s, planes, rows, co);
  const [a, b, o] = [vin, u, out].map((t) => heapOffset(s.backend, t)) as [number, number, number];
  const products = f32(s.backend, out);
  for (let p = 0; p < planes; p++) {
    const at = p * planeStride(rows, co);
    products.fill(0, at / 4, at / 4 + rows * co);
    runGemmNN(s.backend, { k: ci, m: rows, n: co }, a + p * planeStride(rows, ci), b + p * planeStride(ci, co), o + at);
  }
  return out;
}

/**
 * Winograd Conv2D (NHWC, 3×3, stride 1, 'same'): y = conv(x, filter) [+ bias, activation]. Call only when
 * {@link winogradApplies}. Images are processed in chunks so the α² planes stay moderate in size.
 */
export function conv2DWinograd(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  bias: TensorInfo | null = null,
  activation: Epilogue['activation'] = 'linear',
): TensorInfo {
  const v = variantFor(info);
  if (v === null) throw new Error('conv2DWinograd: not a 3×3 stride-1 same convolution with channels % 4 == 0');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const planes = v.alpha * v.alpha;
  const memory = memoryOf(backend);
  return withScope(backend, (s) => {
    const u = transformFilter(backend, s, v, filter, ci, co);
    const xp = s.padHW(x, 1, 1, 1, 1);
    const y = s.track(backend.makeOutput([n, h, w, co], 'float32'));
    const chunk = imagesPerChunk(v, { n, h, w, c: ci }, Math.max(ci, co));
    const epilogue: Epilogue = { bias: bias !== null, activation };
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const nc = Math.min(chunk, n - i0);
      const shapeIn = { n: nc, h, w, c: ci };
      const tiles = nc * (h / v.m) * (w / v.m);
      const inT = cachedKernel(`wino-in:${v.m}:${JSON.stringify(shapeIn)}`, memory, () =>
        encodeInputTransform(v, shapeIn),
      );
      // Each plane gets `rows` ≥ tiles rows, a multiple of 4 for the GEMM; the rows past the tiles are zeros in
      // V and are never read back from the products.
      const rows = Math.ceil(tiles / 4) * 4;
      const vin = planeSet(s, planes, rows, ci);
      const planesIn = f32(backend, vin);
      for (let p = 0; p < planes && rows > tiles; p++) {
        const at = (p * planeStride(rows, ci)) / 4;
        planesIn.fill(0, at + tiles * ci, at + rows * ci);
      }
      inT(
        heapOffset(backend, xp) + i0 * (h + 2) * (w + 2) * ci * 4,
        ...planeOffsets(heapOffset(backend, vin), planes, rows, ci),
      );
      const products = planeProducts(s, v, rows, ci, co, vin, u);
      backend.disposeData(s.keep(vin).dataId); // the planes are the largest buffers of the step
      const shapeOut = { n: nc, h, w, c: co };
      const outT = cachedKernel(`wino-out:${v.m}:${JSON.stringify(shapeOut)}:${JSON.stringify(epilogue)}`, memory, () =>
        encodeOutputTransform(v, shapeOut, epilogue),
      );
      outT(
        ...planeOffsets(heapOffset(backend, products), planes, rows, co),
        heapOffset(backend, y) + i0 * h * w * co * 4,
        bias === null ? 0 : heapOffset(backend, bias),
      );
      backend.disposeData(s.keep(products).dataId);
    }
    return y;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Registered kernels: Winograd where it applies, the stock XNNPACK kernel otherwise.

function convInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs): backend_util.Conv2DInfo | null {
  if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  return backend_util.computeConv2DInfo(
    dims4(x.shape),
    dims4(filter.shape),
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

const callStock = (stock: KernelConfig, args: WasmKernelArgs<unknown>): TensorInfo =>
  stock.kernelFunc(args as unknown as Parameters<KernelConfig['kernelFunc']>[0]) as TensorInfo;

/**
 * Conv2D: an unpacked GEMM for pointwise layers, Winograd for 3×3 stride-1 'same' layers with enough channels,
 * XNNPACK's direct conv otherwise.
 */
export function makeConv2DWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<Conv2DAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const filter = input(args, 'filter');
    const info = convInfo(x, filter, args.attrs);
    if (info !== null && pointwiseGemmApplies(info)) return conv2DPointwise(args.backend, x, filter, info);
    if (info === null || !winogradApplies(info)) return callStock(stock, args);
    return conv2DWinograd(args.backend, x, filter, info);
  };
}

/** FusedConv2D (inference path of tfjs-layers' Conv2D): Winograd with bias and linear/ReLU/ReLU6 fused in. */
export function makeFusedConv2DWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<FusedConv2DAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const filter = input(args, 'filter');
    const bias = args.inputs['bias'] ?? null;
    const { activation } = args.attrs;
    const info = convInfo(x, filter, args.attrs);
    const fusable =
      (activation === 'linear' || activation === 'relu' || activation === 'relu6') &&
      (bias === null || (bias.dtype === 'float32' && bias.shape.reduce((a, b) => a * b, 1) === info?.outChannels));
    if (info === null || !fusable) return callStock(stock, args);
    if (pointwiseGemmApplies(info)) return conv2DPointwise(args.backend, x, filter, info, bias, activation);
    if (!winogradApplies(info)) return callStock(stock, args);
    return conv2DWinograd(args.backend, x, filter, info, bias, activation);
  };
}
