import { setFlagsFromString } from 'node:v8';
import { Locals } from './locals.js';
import { encodeModule } from './module.js';
import { op, simd } from './opcodes.js';
import { chooseSimdMode, chosenSimdMode, type WasmSimdMode } from './simd-mode.js';

export type { WasmSimdMode };

/** Set to `0` to force the SIMD128 kernels where relaxed SIMD is available (benchmarks, comparisons). */
export const RELAXED_SIMD_ENV_VAR = 'FERSWEEP_WASM_RELAXED_SIMD';

/** The V8 flag that enables relaxed SIMD in Node 20 (Node ≥ 22 ships it on). */
export const RELAXED_SIMD_V8_FLAG = '--experimental-wasm-relaxed-simd';

interface WasmValidate {
  validate(bytes: Uint8Array): boolean;
}

/** A module whose one function computes `f32x4.relaxed_madd` of three constants: valid iff the engine has it. */
function probe(): Uint8Array {
  const locals = new Locals(0);
  const v = locals.v128();
  return encodeModule(locals, [
    ...op.f32x4Const(1),
    ...op.f32x4Const(2),
    ...op.f32x4Const(3),
    ...simd('f32x4.relaxed_madd'),
    ...op.set(v),
  ]);
}

/** True when this engine validates relaxed-SIMD code (feature detection by `WebAssembly.validate`). */
export function relaxedSimdSupported(): boolean {
  const api = (globalThis as unknown as { WebAssembly?: WasmValidate }).WebAssembly;
  return api !== undefined && api.validate(probe());
}

/**
 * Turns relaxed SIMD on where the engine has it behind a flag: Node 20's V8 accepts
 * {@link RELAXED_SIMD_V8_FLAG} at run time (before the first module that uses it is compiled; NODE_OPTIONS
 * refuses V8 flags, and a re-exec of every trainer would have to relay signals). Node ≥ 22 needs nothing; a
 * browser or another engine is left as it is. Returns whether relaxed SIMD validates afterwards.
 */
export function enableRelaxedSimd(nodeVersion: string | undefined = process.versions?.node): boolean {
  if (relaxedSimdSupported()) return true;
  const major = Number(nodeVersion?.split('.')[0]);
  if (major !== 20 && major !== 21) return false;
  setFlagsFromString(RELAXED_SIMD_V8_FLAG);
  return relaxedSimdSupported();
}

/**
 * Picks the kernels' instruction set (once; later calls return the choice): relaxed SIMD where the engine
 * supports it (enabling it on Node 20) unless `FERSWEEP_WASM_RELAXED_SIMD=0`, else SIMD128.
 * {@link registerWasmTrainingKernels} calls it.
 */
export function initWasmSimd(env: Record<string, string | undefined> = process.env): WasmSimdMode {
  const chosen = chosenSimdMode();
  if (chosen !== null) return chosen;
  const mode = pickSimdMode(env, () => enableRelaxedSimd());
  chooseSimdMode(mode);
  return mode;
}

/** The start-up choice: relaxed unless `FERSWEEP_WASM_RELAXED_SIMD` is `0`/`false` or `available()` says no. */
export function pickSimdMode(env: Record<string, string | undefined>, available: () => boolean): WasmSimdMode {
  const value = env[RELAXED_SIMD_ENV_VAR]?.trim().toLowerCase();
  if (value === '0' || value === 'false') return 'simd128';
  return available() ? 'relaxed' : 'simd128';
}

/** The instruction set generated kernels are built for now ({@link initWasmSimd} if nothing chose yet). */
export function wasmSimdMode(): WasmSimdMode {
  return chosenSimdMode() ?? initWasmSimd();
}

/**
 * Switches the instruction set of kernels generated from now on (compiled kernels are cached per mode), e.g. to
 * measure both in one process. Throws when 'relaxed' is asked for and the engine cannot run it.
 */
export function setWasmSimdMode(next: WasmSimdMode): void {
  if (next === 'relaxed' && !enableRelaxedSimd()) {
    throw new Error(
      `relaxed SIMD is not available in this engine (Node ${process.versions?.node ?? '?'}): ` +
        `use Node ≥ 22, or Node 20 (which enables ${RELAXED_SIMD_V8_FLAG}), or the 'simd128' mode`,
    );
  }
  chooseSimdMode(next);
}

/**
 * `a·b + c` on f32x4 values, each given as the code that pushes it: `f32x4.relaxed_madd` in relaxed mode,
 * else `f32x4.mul` then `f32x4.add`. `negate` gives `c − a·b` (`f32x4.relaxed_nmadd`, or mul then sub).
 */
export function madd(a: number[], b: number[], c: number[], negate = false): number[] {
  if (wasmSimdMode() === 'relaxed') {
    return [...a, ...b, ...c, ...simd(negate ? 'f32x4.relaxed_nmadd' : 'f32x4.relaxed_madd')];
  }
  return [...c, ...a, ...b, ...op.f32x4Mul, ...(negate ? op.f32x4Sub : op.f32x4Add)];
}
