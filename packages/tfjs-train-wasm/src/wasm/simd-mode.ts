/**
 * Which SIMD instruction set the generated kernels use: 'relaxed' fuses multiply-adds into
 * `f32x4.relaxed_madd` (one instruction; the engine may fuse it into an FMA, rounding once), 'simd128' keeps
 * `f32x4.mul` + `f32x4.add` (rounding twice). Chosen at start-up by features.ts (`initWasmSimd`).
 */
export type WasmSimdMode = 'relaxed' | 'simd128';

let current: WasmSimdMode | null = null;

/** The chosen mode, or null before anything chose. */
export function chosenSimdMode(): WasmSimdMode | null {
  return current;
}

export function chooseSimdMode(mode: WasmSimdMode): void {
  current = mode;
}
