import {
  backend_util,
  type Conv2DAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { dims4, input, withScope, type WasmBackend, type WasmKernelArgs, heapOffset } from '../kernel-utils.js';
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
  /** Bytes of one set of α² planes: images are transformed and multiplied in chunks of about this size. */
  chunkBytes: 32 << 20,
};

/** Images per pass: keeps each plane set near `chunkBytes` so the GEMMs and transforms stay in cache range. */
export function imagesPerChunk(v: Variant, s: TileShape, channels: number): number {
  const bytesPerImage = (s.h / v.m) * (s.w / v.m) * v.alpha * v.alpha * channels * 4;
  return Math.max(1, Math.min(s.n, Math.floor(winogradTuning.chunkBytes / bytesPerImage)));
}

/** U_p = (G g Gᵀ)_p for every (ci, co), as α² tensors [1, CI, CO]. */
function transformFilter(
  backend: WasmBackend,
  scope: { track(t: TensorInfo): TensorInfo },
  v: Variant,
  filter: TensorInfo,
  ci: number,
  co: number,
): TensorInfo[] {
  const planes = range(v.alpha * v.alpha).map(() => scope.track(backend.makeOutput([1, ci, co], 'float32')));
  const run = cachedKernel(`wino-filter:${v.m}:${ci * co}:f`, memoryOf(backend), () =>
    encodeFilterTransform(v, ci * co, 'forward'),
  );
  run(heapOffset(backend, filter), ...planes.map((p) => heapOffset(backend, p)));
  return planes;
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
      const planesIn = range(planes).map(() => backend.makeOutput([1, tiles, ci], 'float32'));
      const products: TensorInfo[] = [];
      let freed = 0;
      try {
        inT(heapOffset(backend, xp) + i0 * (h + 2) * (w + 2) * ci * 4, ...planesIn.map((p) => heapOffset(backend, p)));
        for (let p = 0; p < planes; p++) {
          const vp = planesIn[p] as TensorInfo;
          products.push(
            s.run('BatchMatMul', { a: vp, b: u[p] as TensorInfo }, { transposeA: false, transposeB: false }),
          );
          backend.disposeData(vp.dataId); // free as we go: the planes are the largest buffers of the step
          freed = p + 1;
        }
        const shapeOut = { n: nc, h, w, c: co };
        const outT = cachedKernel(
          `wino-out:${v.m}:${JSON.stringify(shapeOut)}:${JSON.stringify(epilogue)}`,
          memory,
          () => encodeOutputTransform(v, shapeOut, epilogue),
        );
        outT(
          ...products.map((p) => heapOffset(backend, p)),
          heapOffset(backend, y) + i0 * h * w * co * 4,
          bias === null ? 0 : heapOffset(backend, bias),
        );
      } finally {
        for (const p of planesIn.slice(freed)) backend.disposeData(p.dataId);
        for (const p of products) backend.disposeData(s.keep(p).dataId);
      }
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
