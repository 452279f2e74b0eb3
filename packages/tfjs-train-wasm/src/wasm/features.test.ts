import { afterAll, describe, expect, it } from '@jest/globals';
import { encodeGemmTN } from '../kernels/gemm/gemm-tn.js';
import {
  enableRelaxedSimd,
  madd,
  pickSimdMode,
  RELAXED_SIMD_ENV_VAR,
  relaxedSimdSupported,
  setWasmSimdMode,
  wasmSimdMode,
} from './features.js';
import { Locals } from './locals.js';
import { encodeModule, instantiate } from './module.js';
import { RELAXED_SIMD } from './opcode-table.js';
import { core, op, simd, V128 } from './opcodes.js';

const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
const initial = wasmSimdMode();
afterAll(() => setWasmSimdMode(initial));

/** True when `needle` occurs in `bytes`. */
function contains(bytes: Uint8Array, needle: number[]): boolean {
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('relaxed SIMD', () => {
  it('is detected by WebAssembly.validate and enabled on this Node (20: by the V8 flag; ≥ 22: on by default)', () => {
    expect(enableRelaxedSimd()).toBe(true);
    expect(relaxedSimdSupported()).toBe(true);
  });

  it.each(
    Object.entries(RELAXED_SIMD)
      .filter(([, [, sig]]) => sig.includes('>'))
      .map(([name, [, sig]]) => [name, sig]),
  )('opcode %s validates with signature %s', (name, sig) => {
    const [operands = ''] = sig.split('>');
    const locals = new Locals(0);
    const args = [...operands].map(() => locals.v128());
    const bytes = encodeModule(locals, [
      ...args.flatMap((i) => op.get(i)),
      ...simd(name as keyof typeof RELAXED_SIMD),
      ...core('drop'),
    ]);
    expect(wasm.validate(bytes)).toBe(true);
  });

  it('is chosen at start-up unless FERSWEEP_WASM_RELAXED_SIMD=0 or the engine lacks it', () => {
    expect(pickSimdMode({}, () => true)).toBe('relaxed');
    expect(pickSimdMode({}, () => false)).toBe('simd128');
    expect(pickSimdMode({ [RELAXED_SIMD_ENV_VAR]: '0' }, () => true)).toBe('simd128');
    expect(pickSimdMode({ [RELAXED_SIMD_ENV_VAR]: 'false' }, () => true)).toBe('simd128');
    expect(pickSimdMode({ [RELAXED_SIMD_ENV_VAR]: '1' }, () => true)).toBe('relaxed');
  });

  it('turns multiply-adds into f32x4.relaxed_madd / relaxed_nmadd, or mul + add / sub in SIMD128 mode', () => {
    const [a, b, c] = [op.get(0), op.get(1), op.get(2)];
    setWasmSimdMode('relaxed');
    expect(madd(a, b, c)).toEqual([...a, ...b, ...c, ...simd('f32x4.relaxed_madd')]);
    expect(madd(a, b, c, true)).toEqual([...a, ...b, ...c, ...simd('f32x4.relaxed_nmadd')]);
    expect(contains(encodeGemmTN(8, 4, 8), simd('f32x4.relaxed_madd'))).toBe(true);
    setWasmSimdMode('simd128');
    expect(madd(a, b, c)).toEqual([...c, ...a, ...b, ...op.f32x4Mul, ...op.f32x4Add]);
    expect(madd(a, b, c, true)).toEqual([...c, ...a, ...b, ...op.f32x4Mul, ...op.f32x4Sub]);
    expect(contains(encodeGemmTN(8, 4, 8), simd('f32x4.relaxed_madd'))).toBe(false);
  });

  it('computes a·b + c (and c − a·b) in both modes', () => {
    const memory = new (
      globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }
    ).WebAssembly.Memory({ initial: 1 });
    const heap = new Float32Array(memory.buffer);
    for (const mode of ['relaxed', 'simd128'] as const) {
      setWasmSimdMode(mode);
      for (const negate of [false, true]) {
        // out = x[0..3] · x[4..7] ± x[8..11]
        const locals = new Locals(1);
        const [P] = locals.paramIndices();
        const v = (offset: number): number[] => [...op.get(P), ...op.v128Load(offset)];
        const result = locals.of(V128);
        const body = [...madd(v(0), v(16), v(32), negate), ...op.set(result), ...op.get(P), ...op.get(result)];
        const run = instantiate(encodeModule(locals, [...body, ...op.v128Store(48)]), memory);
        heap.set([1, 2, 3, -4, 0.5, 0.25, -2, 2, 10, 20, 30, 40], 0);
        run(0);
        const sign = negate ? -1 : 1;
        expect([...heap.subarray(12, 16)]).toEqual([10 + sign * 0.5, 20 + sign * 0.5, 30 - sign * 6, 40 - sign * 8]);
      }
    }
  });
});
