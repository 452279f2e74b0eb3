import type { backend_util } from '@tensorflow/tfjs-core';

/**
 * Winograd convolution F(m×m, 3×3) for 3×3, stride-1, 'same' convolutions on wasm (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016). Per tile, Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A: the α² = (m+2)²
 * element-wise products over channels become α² independent GEMMs [tiles, CI]·[CI, CO] (BatchMatMul: our
 * unpacked NN GEMM, XNNPACK where the tile count is not a multiple of 4), with 9m²/α² of the direct
 * convolution's multiplications (F(2,3): 1/2.25, F(4,3): 1/4). The input,
 * output and filter transforms are generated wasm SIMD loops (four channels per v128), one module per layer
 * geometry (cached), on tfjs' own heap.
 *
 * The same algebra gives the filter gradient (dU = Σ_tiles (Bᵀ d B) ⊗ (A dY Aᵀ), dg = Gᵀ dU G: α² GEMMs
 * [CI, tiles]·[tiles, CO]); the input gradient is a forward Winograd convolution of dy with the flipped,
 * transposed filter (Conv2DBackpropInput already runs as that Conv2D).
 *
 * Why separate GEMMs: the stock wasm BatchMatMul uses XNNPACK only for batch 1 (its batched path runs at
 * ~2 GFLOP/s against ~25–34), so every transform writes its α² planes into separate tensors.
 */

/** A Winograd variant: output tile m, input tile α = m + 2, and its transform matrices. */
export interface Variant {
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

export const transpose = (a: number[][]): number[][] => (a[0] ?? []).map((_, j) => a.map((row) => row[j] ?? 0));

/** Smallest channel count (in and out) for which the GEMMs are wide enough to beat XNNPACK's direct conv. */
export const WINOGRAD_MIN_CHANNELS = 16;

/** The variant for a layer: F(4,3) when the image tiles by 4, else F(2,3); null when Winograd does not apply. */
export function variantFor(info: backend_util.Conv2DInfo): Variant | null {
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
