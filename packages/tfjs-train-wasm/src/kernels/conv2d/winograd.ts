import {
  backend_util,
  type Conv2DAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { dims4, input, withScope, type WasmBackend, type WasmKernelArgs, heapOffset } from './kernel-utils.js';
import { runGemmTN } from './gemm-tn.js';
import { addTo, cachedKernel, copy, encodeModule, I32, op, repeat, V128 } from './wasm-asm.js';

/**
 * Winograd convolution F(m×m, 3×3) for 3×3, stride-1, 'same' convolutions on wasm (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016). Per tile, Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A: the α² = (m+2)²
 * element-wise products over channels become α² independent GEMMs [tiles, CI]·[CI, CO], which run on
 * XNNPACK, with 9m²/α² of the direct convolution's multiplications (F(2,3): 1/2.25, F(4,3): 1/4). The input,
 * output and filter transforms are generated wasm SIMD loops (four channels per v128), one module per layer
 * geometry (cached), on tfjs' own heap.
 *
 * The same algebra gives the filter gradient (dU = Σ_tiles (Bᵀ d B) ⊗ (A dY Aᵀ), dg = Gᵀ dU G: α² GEMMs
 * [CI, tiles]·[tiles, CO]); the input gradient is a forward Winograd convolution of dy with the flipped,
 * transposed filter (Conv2DBackpropInput already runs as that Conv2D).
 *
 * Why separate GEMMs: the wasm backend's BatchMatMul uses XNNPACK only for batch 1 (its batched path runs at
 * ~2 GFLOP/s against ~25–34), so every transform writes its α² planes into separate tensors.
 */

/** A Winograd variant: output tile m, input tile α = m + 2, and its transform matrices. */
interface Variant {
  m: number;
  alpha: number;
  /** Bᵀ (α×α): input transform. */
  bt: number[][];
  /** G (α×3): filter transform. */
  g: number[][];
  /** Aᵀ (m×α): output transform. */
  at: number[][];
}

const F2: Variant = {
  m: 2,
  alpha: 4,
  bt: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  g: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  at: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

/** Interpolation points 0, ±1, ±2, ∞ (the standard choice; errors stay near fp32 rounding for 3×3). */
const F4: Variant = {
  m: 4,
  alpha: 6,
  bt: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  g: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  at: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

const transpose = (a: number[][]): number[][] => (a[0] ?? []).map((_, j) => a.map((row) => row[j] ?? 0));

/** Smallest channel count (in and out) for which the GEMMs are wide enough to beat XNNPACK's direct conv. */
export const WINOGRAD_MIN_CHANNELS = 16;

/** The variant for a layer: F(4,3) when the image tiles by 4, else F(2,3); null when Winograd does not apply. */
function variantFor(info: backend_util.Conv2DInfo): Variant | null {
  const p = info.padInfo;
  const applies =
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top === 1 &&
    p.bottom === 1 &&
    p.left === 1 &&
    p.right === 1 &&
    info.dataFormat === 'channelsLast' &&
    info.inHeight === info.outHeight &&
    info.inWidth === info.outWidth &&
    info.inChannels % 4 === 0 &&
    info.outChannels % 4 === 0 &&
    info.inChannels >= WINOGRAD_MIN_CHANNELS &&
    info.outChannels >= WINOGRAD_MIN_CHANNELS;
  if (!applies) return null;
  if (info.inHeight % 4 === 0 && info.inWidth % 4 === 0 && info.inHeight >= 8 && info.inWidth >= 8) return F4;
  if (info.inHeight % 2 === 0 && info.inWidth % 2 === 0) return F2;
  return null;
}

/** True when {@link conv2DWinograd} / {@link conv2DBackpropFilterWinograd} take this convolution. */
export function winogradApplies(info: backend_util.Conv2DInfo): boolean {
  return variantFor(info) !== null;
}

// ---------------------------------------------------------------------------------------------------------
// Code generation. Every kernel walks tiles × channel blocks of four; a transform L·X·Lᵀ of a tile is emitted
// as straight-line v128 arithmetic over locals (coefficients ±1 become add/sub, others a multiply).

const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);

/** Σ coef·local as v128 code; an all-zero row yields a zero vector. */
function linearCombination(terms: [number, number][]): number[] {
  const code: number[] = [];
  let first = true;
  for (const [c, local] of terms) {
    if (c === 0) continue;
    if (first) {
      code.push(...op.get(local));
      if (c === -1) code.push(...op.f32x4Neg);
      else if (c !== 1) code.push(...op.f32x4Const(c), ...op.f32x4Mul);
      first = false;
    } else if (c === 1 || c === -1) {
      code.push(...op.get(local), ...(c === 1 ? op.f32x4Add : op.f32x4Sub));
    } else {
      code.push(
        ...op.get(local),
        ...op.f32x4Const(Math.abs(c)),
        ...op.f32x4Mul,
        ...(c > 0 ? op.f32x4Add : op.f32x4Sub),
      );
    }
  }
  return first ? [...op.v128Zero] : code;
}

/**
 * Emits out = L·X·Lᵀ for a k×k tile X held in locals `x(i,j)`; L is r×k. The row pass goes to locals `t(r,j)`;
 * each output element's expression is handed to `emit(r, s, code)` (which stores or post-processes it).
 */
function emitTransform(
  l: number[][],
  x: (i: number, j: number) => number,
  t: (r: number, j: number) => number,
  emit: (r: number, s: number, code: number[]) => number[],
): number[] {
  const rows = l.length;
  const k = l[0]?.length ?? 0;
  const code: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      code.push(...linearCombination(range(k).map((i) => [l[r]?.[i] ?? 0, x(i, j)])), ...op.set(t(r, j)));
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < rows; s++) {
      code.push(...emit(r, s, linearCombination(range(k).map((j) => [l[s]?.[j] ?? 0, t(r, j)]))));
    }
  }
  return code;
}

/** Tiling of one layer: n images of h×w (multiples of m), c channels. */
interface TileShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

/** The i32 locals every tile loop uses (see {@link tileLoops}). */
interface TileLocals {
  cN: number;
  cTi: number;
  cTj: number;
  cCb: number;
  /** Image pointer at the current tile row. */
  row: number;
  /** Image pointer at the current tile. */
  tile: number;
  /** Image pointer at the current tile and channel block. */
  pix: number;
  /** Byte offset into every plane of the current tile and channel block. */
  rel: number;
  /** Byte offset into every plane of the current tile. */
  relTile: number;
}

const TILE_LOCALS = 9;

function tileLocals(base: number): TileLocals {
  return {
    cN: base,
    cTi: base + 1,
    cTj: base + 2,
    cCb: base + 3,
    row: base + 4,
    tile: base + 5,
    pix: base + 6,
    rel: base + 7,
    relTile: base + 8,
  };
}

/** Stores a transform's output element (r, c) into plane r·α + c (param P(p)) at the current `rel`. */
function planeStore(
  alpha: number,
  P: (p: number) => number,
  l: TileLocals,
): (r: number, c: number, code: number[]) => number[] {
  return (r, c, code) => [...op.get(P(r * alpha + c)), ...op.get(l.rel), ...op.add, ...code, ...op.v128Store(0)];
}

/**
 * The loops all tile transforms share: images × tile rows × tiles × blocks of four channels. `pix` walks an
 * NHWC image of `rowPixels` pixels per row starting at local `image` (`extraRows` more rows per image than
 * the tiles cover: 2 for a padded input); `rel` walks α² planes laid out [tiles, c]. `block` runs per channel
 * block; `tileSetup` and `blockStep` add per-tile and per-block work.
 */
function tileLoops(
  l: TileLocals,
  image: number,
  s: TileShape,
  m: number,
  rowPixels: number,
  extraRows: number,
  block: number[][],
  tileSetup: number[][] = [],
  blockStep: number[][] = [],
): number[] {
  const cb = s.c * 4;
  return [
    ...copy(l.row, image),
    ...op.i32(0),
    ...op.set(l.relTile),
    ...repeat(
      l.cN,
      s.n,
      repeat(
        l.cTi,
        s.h / m,
        copy(l.tile, l.row),
        repeat(
          l.cTj,
          s.w / m,
          copy(l.pix, l.tile),
          copy(l.rel, l.relTile),
          ...tileSetup,
          repeat(l.cCb, s.c / 4, ...block, addTo(l.pix, 16), addTo(l.rel, 16), ...blockStep),
          addTo(l.tile, m * cb),
          addTo(l.relTile, cb),
        ),
        addTo(l.row, m * rowPixels * cb),
      ),
      extraRows > 0 ? addTo(l.row, extraRows * rowPixels * cb) : [],
    ),
  ];
}

/**
 * Input transform: x padded by one pixel on every side [n, h+2, w+2, c] → α² planes V_p [tiles, c].
 * Params: x, then the α² plane pointers.
 */
function encodeInputTransform(v: Variant, s: TileShape): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const wp = s.w + 2;
  const cb = s.c * 4; // bytes per pixel
  const X = 0;
  const P = (p: number): number => 1 + p;
  const l = tileLocals(1 + planes);
  const vBase = 1 + planes + TILE_LOCALS;
  const d = (i: number, j: number): number => vBase + i * a + j;
  const t = (i: number, j: number): number => vBase + planes + i * a + j;
  const store = planeStore(a, P, l);
  const block = [
    ...range(a).flatMap((i) =>
      range(a).flatMap((j) => [...op.get(l.pix), ...op.v128Load((i * wp + j) * cb), ...op.set(d(i, j))]),
    ),
    ...emitTransform(v.bt, d, t, store),
  ];
  return encodeModule(
    1 + planes,
    [
      [TILE_LOCALS, I32],
      [2 * planes, V128],
    ],
    tileLoops(l, X, s, m, wp, 2, [block]),
  );
}

/** Epilogue fused into the output transform: bias per output channel, then an activation. */
export interface Epilogue {
  bias: boolean;
  activation: 'linear' | 'relu' | 'relu6';
}

/**
 * Output transform: α² planes M_p [tiles, c] → y [n, h, w, c] = Aᵀ M A per tile, plus bias and activation.
 * Params: the α² plane pointers, y, bias (ignored without bias).
 */
function encodeOutputTransform(v: Variant, s: TileShape, epilogue: Epilogue): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const cb = s.c * 4;
  const P = (p: number): number => p;
  const Y = planes;
  const BIAS = planes + 1;
  const l = tileLocals(planes + 2);
  const bp = planes + 2 + TILE_LOCALS;
  const vBase = bp + 1;
  const x = (i: number, j: number): number => vBase + i * a + j;
  const t = (i: number, j: number): number => vBase + planes + i * a + j;
  const biasLocal = vBase + 2 * planes;
  const emit = (r: number, c: number, code: number[]): number[] => {
    const out = [...op.get(l.pix), ...code];
    if (epilogue.bias) out.push(...op.get(biasLocal), ...op.f32x4Add);
    if (epilogue.activation !== 'linear') out.push(...op.v128Zero, ...op.f32x4Max);
    if (epilogue.activation === 'relu6') out.push(...op.f32x4Const(6), ...op.f32x4Min);
    out.push(...op.v128Store((r * s.w + c) * cb));
    return out;
  };
  const block = [
    ...range(a).flatMap((i) =>
      range(a).flatMap((j) => [
        ...op.get(P(i * a + j)),
        ...op.get(l.rel),
        ...op.add,
        ...op.v128Load(0),
        ...op.set(x(i, j)),
      ]),
    ),
    ...(epilogue.bias ? [...op.get(bp), ...op.v128Load(0), ...op.set(biasLocal)] : []),
    ...emitTransform(v.at, x, t, emit),
  ];
  return encodeModule(
    planes + 2,
    [
      [TILE_LOCALS + 1, I32],
      [2 * planes + 1, V128],
    ],
    tileLoops(l, Y, s, m, s.w, 0, [block], [copy(bp, BIAS)], epilogue.bias ? [addTo(bp, 16)] : []),
  );
}

/**
 * Output-gradient transform for the filter gradient: dy [n, h, w, c] → α² planes M'_p [tiles, c] = A dY Aᵀ per
 * m×m tile. Params: dy, then the α² plane pointers.
 */
function encodeGradTransform(v: Variant, s: TileShape): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const cb = s.c * 4;
  const DY = 0;
  const P = (p: number): number => 1 + p;
  const l = tileLocals(1 + planes);
  const vBase = 1 + planes + TILE_LOCALS;
  const x = (i: number, j: number): number => vBase + i * m + j;
  const t = (i: number, j: number): number => vBase + m * m + i * m + j;
  const store = planeStore(a, P, l);
  const block = [
    ...range(m).flatMap((i) =>
      range(m).flatMap((j) => [...op.get(l.pix), ...op.v128Load((i * s.w + j) * cb), ...op.set(x(i, j))]),
    ),
    ...emitTransform(transpose(v.at), x, t, store),
  ];
  return encodeModule(
    1 + planes,
    [
      [TILE_LOCALS, I32],
      [m * m + a * m, V128],
    ],
    tileLoops(l, DY, s, m, s.w, 0, [block]),
  );
}

/**
 * Filter transform: g [3, 3, k] (k = CI·CO, contiguous) → α² planes U_p [k] = (G g Gᵀ)_p, or the inverse for
 * the filter gradient: α² planes dU_p [k] → dg [3, 3, k] = Gᵀ dU G. Params: source(s) then destination(s).
 */
function encodeFilterTransform(v: Variant, k: number, direction: 'forward' | 'backward'): Uint8Array {
  const a = v.alpha;
  const planes = a * a;
  const [inSide, outSide] = direction === 'forward' ? [3, a] : [a, 3];
  const l = direction === 'forward' ? v.g : transpose(v.g);
  // Params: forward: g, U_0..U_{α²-1}; backward: dU_0..dU_{α²-1}, dg.
  const params = 1 + planes;
  const src = (p: number): number => (direction === 'forward' ? 0 : p);
  const dst = (p: number): number => (direction === 'forward' ? 1 + p : planes);
  const srcOffset = (p: number): number => (direction === 'forward' ? p * k * 4 : 0);
  const dstOffset = (p: number): number => (direction === 'forward' ? 0 : p * k * 4);
  const [cK, rel] = [params, params + 1];
  const vBase = params + 2;
  const x = (i: number, j: number): number => vBase + i * inSide + j;
  const t = (i: number, j: number): number => vBase + inSide * inSide + i * inSide + j;
  const store = (r: number, c: number, code: number[]): number[] => {
    const p = r * outSide + c;
    return [...op.get(dst(p)), ...op.get(rel), ...op.add, ...code, ...op.v128Store(dstOffset(p))];
  };
  const body = repeat(
    cK,
    k / 4,
    ...range(inSide).flatMap((i) =>
      range(inSide).map((j) => {
        const p = i * inSide + j;
        return [...op.get(src(p)), ...op.get(rel), ...op.add, ...op.v128Load(srcOffset(p)), ...op.set(x(i, j))];
      }),
    ),
    emitTransform(l, x, t, store),
    addTo(rel, 16),
  );
  return encodeModule(
    params,
    [
      [2, I32],
      [inSide * inSide + outSide * inSide, V128],
    ],
    [...op.i32(0), ...op.set(rel), ...body],
  );
}

// ---------------------------------------------------------------------------------------------------------
// Kernels.

const memoryOf = (backend: WasmBackend): object => backend.wasm.asm.memory;

/** Tunables (tests lower `chunkBytes` to cover the chunked paths with small tensors). */
export const winogradTuning = {
  /** Bytes of one set of α² planes: images are transformed and multiplied in chunks of about this size. */
  chunkBytes: 32 << 20,
};

/** Images per pass: keeps each plane set near `chunkBytes` so the GEMMs and transforms stay in cache range. */
function imagesPerChunk(v: Variant, s: TileShape, channels: number): number {
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
    const acc = range(planes).map(() => s.zeros([1, ci, co]));
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
      const vp = range(planes).map(() => backend.makeOutput([1, tiles, ci], 'float32'));
      const mg = range(planes).map(() => backend.makeOutput([1, tiles, co], 'float32'));
      try {
        inT(heapOffset(backend, xp) + i0 * (h + 2) * (w + 2) * ci * 4, ...vp.map((p) => heapOffset(backend, p)));
        gradT(heapOffset(backend, dy) + i0 * h * w * co * 4, ...mg.map((p) => heapOffset(backend, p)));
        for (let p = 0; p < planes; p++) {
          runGemmTN(
            backend,
            { k: tiles, m: ci, n: co },
            vp[p] as TensorInfo,
            mg[p] as TensorInfo,
            acc[p] as TensorInfo,
          );
        }
      } finally {
        for (const p of [...vp, ...mg]) backend.disposeData(p.dataId);
      }
    }
    const dw = s.track(backend.makeOutput([3, 3, ci, co], 'float32'));
    const back = cachedKernel(`wino-filter:${v.m}:${ci * co}:b`, memory, () =>
      encodeFilterTransform(v, ci * co, 'backward'),
    );
    back(...acc.map((p) => heapOffset(backend, p)), heapOffset(backend, dw));
    return dw;
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

/** Conv2D: Winograd for 3×3 stride-1 'same' layers with enough channels, XNNPACK's direct conv otherwise. */
export function makeConv2DWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<Conv2DAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const filter = input(args, 'filter');
    const info = convInfo(x, filter, args.attrs);
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
    if (info === null || !fusable || !winogradApplies(info)) return callStock(stock, args);
    return conv2DWinograd(args.backend, x, filter, info, bias, activation);
  };
}
