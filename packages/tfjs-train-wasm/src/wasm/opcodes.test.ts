import { describe, expect, it } from '@jest/globals';
import { Locals } from './locals.js';
import { encodeModule, instantiate } from './module.js';
import { CORE, RELAXED_SIMD, SIMD } from './opcode-table.js';
import { core, F32, F64, I32, I64, op, simd, V128 } from './opcodes.js';

const TYPES: Record<string, number> = { i: I32, l: I64, f: F32, d: F64, v: V128 };

/** The WebAssembly JS API pieces used here. */
const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;

/**
 * A module whose function pushes zero-valued locals of the signature's operand types, runs `code`, and drops
 * the result: it validates only when `code` is an instruction of exactly that signature.
 */
function moduleFor(signature: string, code: number[]): Uint8Array {
  const [operands = '', result = ''] = signature.split('>');
  const locals = new Locals(0);
  const args = [...operands].map((t) => {
    const type = TYPES[t];
    if (type === undefined) throw new Error(`unknown type ${t}`);
    return locals.of(type);
  });
  const drop = result === '' ? [] : core('drop');
  return encodeModule(locals, [...args.flatMap((i) => op.get(i)), ...code, ...drop]);
}

const plain = (table: Record<string, readonly [number, string]>): [string, string][] =>
  Object.entries(table)
    .filter(([, [, sig]]) => sig.includes('>'))
    .map(([name, [, sig]]) => [name, sig]);

describe('the opcode table', () => {
  it('has every core, SIMD and relaxed-SIMD instruction once, by opcode', () => {
    // Core 1.0 + sign extension: 0x00–0xC4 minus the reserved/unused bytes; SIMD 0x00–0xFF minus 20 gaps.
    expect(Object.keys(CORE)).toHaveLength(180);
    expect(Object.keys(SIMD)).toHaveLength(236);
    expect(Object.keys(RELAXED_SIMD)).toHaveLength(20);
    for (const table of [CORE, SIMD, RELAXED_SIMD]) {
      const codes = Object.values(table).map(([code]) => code);
      expect(new Set(codes).size).toBe(codes.length);
    }
  });

  it.each(plain(CORE))('core %s validates with signature %s', (name, sig) => {
    expect(wasm.validate(moduleFor(sig, core(name as keyof typeof CORE)))).toBe(true);
  });

  it.each(plain(SIMD))('SIMD %s validates with signature %s', (name, sig) => {
    expect(wasm.validate(moduleFor(sig, simd(name as keyof typeof SIMD)))).toBe(true);
  });

  it('rejects an instruction given the wrong operands (the check above can fail)', () => {
    expect(wasm.validate(moduleFor('v>v', simd('f32x4.add')))).toBe(false);
    expect(wasm.validate(moduleFor('ii>i', simd('f32x4.add')))).toBe(false);
  });

  it('encodes the instructions with immediates the kernels use, and they run', () => {
    const memory = new (
      globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }
    ).WebAssembly.Memory({ initial: 1 });
    // out[0..3] = splat(x[0]) · {2,2,2,2} + max(v128.load(x), 0); lane 2 also stored at out[8].
    const locals = new Locals(2);
    const [X, OUT] = locals.paramIndices();
    const body = [
      ...op.get(OUT),
      ...op.get(X),
      ...op.v128Load32Splat(0),
      ...op.f32x4Const(2),
      ...op.f32x4Mul,
      ...op.get(X),
      ...op.v128Load(0),
      ...op.v128Zero,
      ...op.f32x4Max,
      ...op.f32x4Add,
      ...op.v128Store(0),
      ...op.get(OUT),
      ...op.get(OUT),
      ...op.v128Load(0),
      ...op.v128Store32Lane(32, 2),
    ];
    const run = instantiate(encodeModule(locals, body), memory);
    const heap = new Float32Array(memory.buffer);
    heap.set([3, -1, 4, -2], 0);
    run(0, 64);
    expect([...heap.subarray(16, 20)]).toEqual([9, 6, 10, 6]);
    expect(heap[24]).toBe(10);
  });
});
