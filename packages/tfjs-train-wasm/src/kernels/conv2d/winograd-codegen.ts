import { addTo, copy, encodeModule, Locals, madd, op, repeat } from '../../wasm/index.js';
import { transpose, type Variant } from './winograd-variants.js';

// ---------------------------------------------------------------------------------------------------------
// Code generation. Every kernel walks tiles × channel blocks of four; a transform L·X·Lᵀ of a tile is emitted
// as straight-line v128 arithmetic over locals (coefficients ±1 become add/sub, others a multiply).

export const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);

/** Σ coef·local as v128 code; an all-zero row yields a zero vector. Coefficients other than ±1 multiply-add. */
function linearCombination(terms: [number, number][]): number[] {
  let code: number[] = [];
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
      // code ± |c|·x: one relaxed (n)madd where the engine has relaxed SIMD.
      code = madd(op.get(local), op.f32x4Const(Math.abs(c)), code, c < 0);
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
export interface TileShape {
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

function tileLocals(locals: Locals): TileLocals {
  const [cN, cTi, cTj, cCb, row, tile, pix, rel, relTile] = locals.i32s(9);
  return { cN, cTi, cTj, cCb, row, tile, pix, rel, relTile };
}

/** A k×k tile of v128 locals, indexed (i, j). */
function tileOf(locals: Locals, rows: number, cols: number): (i: number, j: number) => number {
  const all = locals.v128s(rows * cols);
  return (i, j) => all[i * cols + j] as number;
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
export function encodeInputTransform(v: Variant, s: TileShape): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const wp = s.w + 2;
  const cb = s.c * 4; // bytes per pixel
  const locals = new Locals(1 + planes);
  const X = locals.param(0);
  const P = (p: number): number => locals.param(1 + p);
  const l = tileLocals(locals);
  const d = tileOf(locals, a, a);
  const t = tileOf(locals, a, a);
  const store = planeStore(a, P, l);
  const block = [
    ...range(a).flatMap((i) =>
      range(a).flatMap((j) => [...op.get(l.pix), ...op.v128Load((i * wp + j) * cb), ...op.set(d(i, j))]),
    ),
    ...emitTransform(v.bt, d, t, store),
  ];
  return encodeModule(locals, tileLoops(l, X, s, m, wp, 2, [block]));
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
export function encodeOutputTransform(v: Variant, s: TileShape, epilogue: Epilogue): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const cb = s.c * 4;
  const locals = new Locals(planes + 2);
  const P = (p: number): number => locals.param(p);
  const Y = locals.param(planes);
  const BIAS = locals.param(planes + 1);
  const l = tileLocals(locals);
  const bp = locals.i32();
  const x = tileOf(locals, a, a);
  const t = tileOf(locals, a, a);
  const biasLocal = locals.v128();
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
    locals,
    tileLoops(l, Y, s, m, s.w, 0, [block], [copy(bp, BIAS)], epilogue.bias ? [addTo(bp, 16)] : []),
  );
}

/**
 * Output-gradient transform for the filter gradient: dy [n, h, w, c] → α² planes M'_p [tiles, c] = A dY Aᵀ per
 * m×m tile. Params: dy, then the α² plane pointers.
 */
export function encodeGradTransform(v: Variant, s: TileShape): Uint8Array {
  const { m, alpha: a } = v;
  const planes = a * a;
  const cb = s.c * 4;
  const locals = new Locals(1 + planes);
  const DY = locals.param(0);
  const P = (p: number): number => locals.param(1 + p);
  const l = tileLocals(locals);
  const x = tileOf(locals, m, m);
  const t = tileOf(locals, a, m);
  const store = planeStore(a, P, l);
  const block = [
    ...range(m).flatMap((i) =>
      range(m).flatMap((j) => [...op.get(l.pix), ...op.v128Load((i * s.w + j) * cb), ...op.set(x(i, j))]),
    ),
    ...emitTransform(transpose(v.at), x, t, store),
  ];
  return encodeModule(locals, tileLoops(l, DY, s, m, s.w, 0, [block]));
}

/**
 * Filter transform: g [3, 3, k] (k = CI·CO, contiguous) → α² planes U_p [k] = (G g Gᵀ)_p, or the inverse for
 * the filter gradient: α² planes dU_p [k] → dg [3, 3, k] = Gᵀ dU G. Params: source(s) then destination(s).
 */
export function encodeFilterTransform(v: Variant, k: number, direction: 'forward' | 'backward'): Uint8Array {
  const a = v.alpha;
  const planes = a * a;
  const [inSide, outSide] = direction === 'forward' ? [3, a] : [a, 3];
  const l = direction === 'forward' ? v.g : transpose(v.g);
  // Params: forward: g, U_0..U_{α²-1}; backward: dU_0..dU_{α²-1}, dg.
  const locals = new Locals(1 + planes);
  const src = (p: number): number => locals.param(direction === 'forward' ? 0 : p);
  const dst = (p: number): number => locals.param(direction === 'forward' ? 1 + p : planes);
  const srcOffset = (p: number): number => (direction === 'forward' ? p * k * 4 : 0);
  const dstOffset = (p: number): number => (direction === 'forward' ? 0 : p * k * 4);
  const [cK, rel] = locals.i32s(2);
  const x = tileOf(locals, inSide, inSide);
  const t = tileOf(locals, outSide, inSide);
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
  return encodeModule(locals, [...op.i32(0), ...op.set(rel), ...body]);
}
