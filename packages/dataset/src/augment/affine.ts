import type { AugmentationConfig } from '@fersweep/contracts';
import type { Random } from '@fersweep/random';

/*
 * Keras ImageDataGenerator's geometric augmentation, re-implemented for single-channel uint8 images.
 *
 * Reference: keras-preprocessing 1.1.x `ImageDataGenerator.get_random_transform` / `apply_transform`
 * and `affine_transformations.apply_affine_transform` (the scipy version that Keras 2.x ships), which
 * builds a 3×3 matrix M = R·T·Z, offsets it to the image centre and hands it to
 * `scipy.ndimage.affine_transform(x, M[:2, :2], M[:2, 2], order=1, mode=fill_mode, cval=cval)`.
 *
 * Coordinates are (row, col) throughout, as scipy indexes a 2-D array, and M maps an OUTPUT pixel to
 * the INPUT point it samples: input = M · output. Consequences that are easy to get backwards:
 * - theta > 0 turns the content CLOCKWISE as displayed (row 0 at the top): with theta = 90°,
 *   out[r][c] = in[n−1−c][r], i.e. the top edge ends up on the right.
 * - tx is along rows (height) and ty along columns (width); tx > 0 moves the content UP, ty > 0 LEFT.
 * - zx/zy > 1 sample a larger input area, so the face gets SMALLER (zoom out).
 * Keras flips after the affine step; the flip is folded into the same inverse map here.
 *
 * Deliberate differences from Keras + scipy:
 * - Shift ranges ≥ 1 always draw continuous pixel shifts (Keras' float behaviour). Keras gives an
 *   int range discrete integer shifts, but a JSON spec cannot tell 2 from 2.0.
 * - 'constant' treats points within 1e−9 px of the border as inside (see CONSTANT_EDGE_TOLERANCE).
 * - Fill modes follow scipy ≥ 1.6. Older scipy, which early Keras used, blended the wrong pixel
 *   for 'reflect' within one pixel of the border.
 * - Interpolation runs in double and rounds to float32 once, after `rescale`. Keras rounds to float32
 *   and then multiplies by rescale in float32, so values can differ by 1 ulp. This is why an untouched
 *   pixel comes out as exactly Math.fround(p / 255).
 * - The random draws come from our seeded streams, not numpy's global generator: same distributions,
 *   different numbers.
 * Keras' tf-addons variant (keras-preprocessing ≥ 1.1.2 master) reads the same matrix as (x, y),
 * which swaps the shift axes and the rotation direction. This module follows the scipy one.
 */

/** One image's random transform, named as Keras' `get_random_transform` names it. */
export interface AffineParams {
  /** Rotation in degrees; positive turns the content clockwise as displayed (see module note). */
  theta: number;
  /** Shift along rows (height) in pixels; positive moves the content up. */
  tx: number;
  /** Shift along columns (width) in pixels; positive moves the content left. */
  ty: number;
  /** Zoom along rows; above 1 the content shrinks vertically. */
  zx: number;
  /** Zoom along columns; above 1 the content shrinks horizontally. */
  zy: number;
  /** Mirror left–right, applied after the affine part as Keras does. */
  flipHorizontal: boolean;
}

/** The transform that changes nothing (only `rescale` is applied). */
export const IDENTITY_TRANSFORM: Readonly<AffineParams> = Object.freeze({
  theta: 0,
  tx: 0,
  ty: 0,
  zx: 1,
  zy: 1,
  flipHorizontal: false,
});

/** The options `sampleTransform` reads. */
export type RandomTransformOptions = Pick<
  AugmentationConfig,
  'rotationRange' | 'widthShiftRange' | 'heightShiftRange' | 'zoomRange' | 'horizontalFlip'
>;
/** The options `applyTransform` reads. */
export type ResampleOptions = Pick<AugmentationConfig, 'fillMode' | 'cval' | 'rescale'>;

/**
 * A zoom range as [lo, hi]: a number z means [1 − z, 1 + z], as Keras' `zoom_range`.
 */
export function zoomBounds(zoomRange: AugmentationConfig['zoomRange']): [number, number] {
  return typeof zoomRange === 'number' ? [1 - zoomRange, 1 + zoomRange] : [zoomRange[0], zoomRange[1]];
}

/** Whether a config draws any random geometric change at all (else only `rescale` applies). */
export function isAugmenting(config: RandomTransformOptions): boolean {
  const [lo, hi] = zoomBounds(config.zoomRange);
  return (
    config.rotationRange > 0 ||
    config.widthShiftRange > 0 ||
    config.heightShiftRange > 0 ||
    lo !== 1 ||
    hi !== 1 ||
    config.horizontalFlip
  );
}

/**
 * Draws one image's transform the way Keras' `get_random_transform` does, in the same order (theta,
 * tx, ty, zx, zy, flip): theta ~ U[−r, r); tx ~ U[−h, h) times the height when h < 1 (else pixels);
 * ty likewise with the width; zx and zy independently ~ U[lo, hi) unless the range is [1, 1]; a
 * horizontal flip with probability 0.5 when enabled. Disabled options consume no randomness.
 */
export function sampleTransform(
  rng: Random,
  config: RandomTransformOptions,
  height: number,
  width: number,
): AffineParams {
  const rot = config.rotationRange;
  const theta = rot ? rng.uniform(-rot, rot) : 0;
  const hs = config.heightShiftRange;
  const tx = hs ? rng.uniform(-hs, hs) * (hs < 1 ? height : 1) : 0;
  const ws = config.widthShiftRange;
  const ty = ws ? rng.uniform(-ws, ws) * (ws < 1 ? width : 1) : 0;
  const [lo, hi] = zoomBounds(config.zoomRange);
  let zx = 1;
  let zy = 1;
  if (lo !== 1 || hi !== 1) {
    zx = rng.uniform(lo, hi);
    zy = rng.uniform(lo, hi);
  }
  const flipHorizontal = config.horizontalFlip && rng.next() < 0.5;
  return { theta, tx, ty, zx, zy, flipHorizontal };
}

/**
 * The output→input map of `params` for a height×width image, offset to the image centre as Keras'
 * `transform_matrix_offset_center` does: input (row, col) = [[m00, m01], [m10, m11]] · (r, c) + (b0, b1).
 * The flip is not included (see `applyTransform`). Products are formed in Keras' order so that the
 * coordinates match scipy's to the last bit or close to it.
 */
export function affineMatrix(
  params: AffineParams,
  height: number,
  width: number,
): { m00: number; m01: number; m10: number; m11: number; b0: number; b1: number } {
  const rad = params.theta * (Math.PI / 180);
  const cos = params.theta === 0 ? 1 : Math.cos(rad);
  const sin = params.theta === 0 ? 0 : Math.sin(rad);
  const { tx, ty, zx, zy } = params;
  // R·T = [[cos, −sin, cos·tx − sin·ty], [sin, cos, sin·tx + cos·ty]], then ·Z scales the columns.
  const m00 = cos * zx;
  const m01 = -sin * zy;
  const m10 = sin * zx;
  const m11 = cos * zy;
  const e0 = cos * tx + -sin * ty;
  const e1 = sin * tx + cos * ty;
  const o0 = height / 2 - 0.5;
  const o1 = width / 2 - 0.5;
  return { m00, m01, m10, m11, b0: m00 * -o0 + m01 * -o1 + (e0 + o0), b1: m10 * -o0 + m11 * -o1 + (e1 + o1) };
}

const NEAREST = 0;
const CONSTANT = 1;
const REFLECT = 2;
const MODE_CODES = { nearest: NEAREST, constant: CONSTANT, reflect: REFLECT, wrap: 3 } as const;

/*
 * How far outside [0, n−1] a coordinate may stray and still count as inside for 'constant'. A 90°
 * rotation computes its coordinates through cos(π/2) ≈ 6e−17, so an edge pixel can land at
 * 47.000000000000007; scipy would paint it cval, which is float noise rather than intent.
 */
const CONSTANT_EDGE_TOLERANCE = 1e-9;

/**
 * Writes `params` applied to one height×width uint8 image (`src` from `srcOffset`) into `dst` from
 * `dstOffset`, as floats multiplied by `config.rescale`. Resampling is bilinear (scipy order=1) with
 * scipy.ndimage's fill modes; `cval` is in input units. Allocation-free: one inverse map per image, one
 * pass over the output; interior pixels take a branch-light path, only border pixels consult the mode.
 */
export function applyTransform(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  params: AffineParams,
  config: ResampleOptions,
  height: number,
  width: number,
): void {
  const { rescale } = config;
  if (params.theta === 0 && params.tx === 0 && params.ty === 0 && params.zx === 1 && params.zy === 1) {
    // Keras skips scipy entirely when the matrix is the identity, so this path is exact, not an approximation.
    if (params.flipHorizontal) rescaleMirrored(src, srcOffset, dst, dstOffset, height, width, rescale);
    else rescaleImage(src, srcOffset, dst, dstOffset, height * width, rescale);
    return;
  }
  const H = height;
  const W = width;
  const { m00, m01, m10, m11, b0, b1 } = affineMatrix(params, H, W);
  const mode = MODE_CODES[config.fillMode];
  const cval = config.cval;
  const flip = params.flipHorizontal;
  let o = dstOffset;
  for (let r = 0; r < H; r++) {
    // Same operation order as scipy's NI_GeometricTransform: (shift + r·m_0) + c·m_1.
    const rowY = b0 + r * m00;
    const rowX = b1 + r * m10;
    for (let c = 0; c < W; c++) {
      const cc = flip ? W - 1 - c : c;
      const y = rowY + cc * m01;
      const x = rowX + cc * m11;
      let v: number;
      if (y >= 0 && x >= 0 && y < H - 1 && x < W - 1) {
        // Truncation equals floor here (both non-negative) and is about twice as fast as Math.floor,
        // which V8 does not always inline.
        const y0 = y | 0;
        const x0 = x | 0;
        // scipy's order-1 weights: w0 = 1 − f, w1 = 1 − w0, summed tap by tap (row-major).
        const wy0 = 1 - (y - y0);
        const wy1 = 1 - wy0;
        const wx0 = 1 - (x - x0);
        const wx1 = 1 - wx0;
        const i = srcOffset + y0 * W + x0;
        v = src[i]! * wy0 * wx0 + src[i + 1]! * wy0 * wx1 + src[i + W]! * wy1 * wx0 + src[i + W + 1]! * wy1 * wx1;
      } else if (mode === NEAREST) {
        v = sampleNearest(src, srcOffset, H, W, y, x);
      } else if (mode === CONSTANT) {
        v = sampleConstant(src, srcOffset, H, W, y, x, cval);
      } else {
        v = mode === REFLECT ? sampleReflect(src, srcOffset, H, W, y, x) : sampleWrap(src, srcOffset, H, W, y, x);
      }
      dst[o++] = v * rescale;
    }
  }
}

/**
 * Copies one image (or any run of `length` pixels) into `dst` multiplied by `rescale`: the path for
 * batches without augmentation. With rescale 1/255 the result equals Math.fround(p / 255) exactly.
 */
export function rescaleImage(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  length: number,
  rescale: number,
): void {
  for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i]! * rescale;
}

function rescaleMirrored(
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  H: number,
  W: number,
  rescale: number,
): void {
  for (let r = 0; r < H; r++) {
    const rowEnd = srcOffset + r * W + W - 1;
    const out = dstOffset + r * W;
    for (let c = 0; c < W; c++) dst[out + c] = src[rowEnd - c]! * rescale;
  }
}

/*
 * Bilinear samples at (y, x) when a tap falls outside the image, following scipy ≥ 1.6's
 * NI_GeometricTransform for order 1. One small function per mode rather than a switch, so V8 inlines
 * the common ones into the pixel loop.
 */

/** 'nearest' (a a | a b c d | d d): clamping the point equals clamping both taps for order 1. */
function sampleNearest(src: Uint8Array, off: number, H: number, W: number, y: number, x: number): number {
  const yc = y < 0 ? 0 : y > H - 1 ? H - 1 : y;
  const xc = x < 0 ? 0 : x > W - 1 ? W - 1 : x;
  const y0 = yc | 0;
  const x0 = xc | 0;
  return bilinear(src, off, W, y0, y0 < H - 1 ? y0 + 1 : y0, x0, x0 < W - 1 ? x0 + 1 : x0, yc - y0, xc - x0);
}

/**
 * 'constant' (k k | a b c d | k k): cval as soon as the point is outside [0, n−1] on either axis, with
 * no blending towards cval (scipy's 'grid-constant' would blend); inside, the taps are in range.
 */
function sampleConstant(
  src: Uint8Array,
  off: number,
  H: number,
  W: number,
  y: number,
  x: number,
  cval: number,
): number {
  const tol = CONSTANT_EDGE_TOLERANCE;
  return y >= -tol && y <= H - 1 + tol && x >= -tol && x <= W - 1 + tol ? sampleNearest(src, off, H, W, y, x) : cval;
}

/** 'reflect' (d c b a | a b c d | d c b a): taps mirrored about the pixel edges, period 2n. */
function sampleReflect(src: Uint8Array, off: number, H: number, W: number, y: number, x: number): number {
  const y0 = floor(y);
  const x0 = floor(x);
  return bilinear(
    src,
    off,
    W,
    reflectIndex(y0, H),
    reflectIndex(y0 + 1, H),
    reflectIndex(x0, W),
    reflectIndex(x0 + 1, W),
    y - y0,
    x - x0,
  );
}

/**
 * scipy's 'wrap': the point is wrapped with period n − 1, so the first and last samples overlap (not
 * a b c d | a b c d as Keras' docstring draws it; that would be scipy's 'grid-wrap').
 */
function sampleWrap(src: Uint8Array, off: number, H: number, W: number, y: number, x: number): number {
  const yw = wrapCoordinate(y, H);
  const xw = wrapCoordinate(x, W);
  const y0 = floor(yw);
  const x0 = floor(xw);
  // A coordinate of exactly n − 1 puts weight 0 on the next tap; keep that index in range.
  return bilinear(src, off, W, y0, y0 + 1 < H ? y0 + 1 : H - 1, x0, x0 + 1 < W ? x0 + 1 : W - 1, yw - y0, xw - x0);
}

/** scipy's order-1 sum over taps (y0|y1) × (x0|x1) with weights w0 = 1 − f, w1 = 1 − w0. */
function bilinear(
  src: Uint8Array,
  off: number,
  W: number,
  y0: number,
  y1: number,
  x0: number,
  x1: number,
  fy: number,
  fx: number,
): number {
  const wy0 = 1 - fy;
  const wy1 = 1 - wy0;
  const wx0 = 1 - fx;
  const wx1 = 1 - wx0;
  const r0 = off + y0 * W;
  const r1 = off + y1 * W;
  return src[r0 + x0]! * wy0 * wx0 + src[r0 + x1]! * wy0 * wx1 + src[r1 + x0]! * wy1 * wx0 + src[r1 + x1]! * wy1 * wx1;
}

/** Math.floor through int32 truncation where that is exact (see the interior path for why). */
function floor(v: number): number {
  if (v > -1073741824 && v < 1073741824) {
    const t = v | 0;
    return t > v ? t - 1 : t;
  }
  return Math.floor(v);
}

/** Half-sample symmetric extension, period 2n: index −1 → 0, n → n − 1. */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/** scipy's map_coordinate for NI_EXTEND_WRAP: period n − 1, same truncating arithmetic. */
function wrapCoordinate(v: number, n: number): number {
  if (n <= 1) return 0;
  const size = n - 1;
  if (v < 0) return v + size * (Math.trunc(-v / size) + 1);
  if (v > size) return v - size * Math.trunc(v / size);
  return v;
}
