/**
 * A minimal WebAssembly binary encoder, enough to emit shape-specialised SIMD loops that run on tfjs' own wasm
 * heap (the module imports the backend's memory). Hand-encoding keeps the project free of a wasm toolchain;
 * only the opcodes the kernels use are here. Spec: https://webassembly.github.io/spec/core/binary/
 */

export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/** Instruction helpers; each returns its bytes. Block types are always "no result" (0x40). */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  ltS: [0x48],
  /** `if (top of stack) { body }`. */
  if_: (...body: number[][]) => [0x04, 0x40, ...body.flat(), 0x0b],
  ne: [0x47],
  loop: (...body: number[][]) => [0x03, 0x40, ...body.flat(), 0x0b],
  block: (...body: number[][]) => [0x02, 0x40, ...body.flat(), 0x0b],
  /** Branch to the enclosing label `depth` (0 = innermost) when the top of the stack is non-zero. */
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  v128Load: (offset: number) => [...simd(0x00), 0, ...uleb(offset)],
  v128Store: (offset: number) => [...simd(0x0b), 0, ...uleb(offset)],
  v128Zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  /** Stores lane `lane` of a v128 (f32) at address + offset. */
  v128Store32Lane: (offset: number, lane: number) => [...simd(0x5a), 0, ...uleb(offset), lane],
  f32x4Const: (v: number) => [...simd(0x0c), ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)],
  f32x4Neg: simd(0xe1),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Min: simd(0xe8),
  f32x4Max: simd(0xe9),
  f32x4Splat: simd(0x13),
  f32x4Lt: simd(0x43),
  f32x4Gt: simd(0x44),
  f32x4Le: simd(0x45),
  f32x4Ge: simd(0x46),
  v128Not: simd(0x4d),
  v128And: simd(0x4e),
  v128AndNot: simd(0x4f),
  v128Or: simd(0x50),
  f32x4Eq: simd(0x41),
  /** Loads one f32 and splats it to four lanes. */
  v128Load32Splat: (offset: number) => [...simd(0x09), 0, ...uleb(offset)],
  /** Lane-wise byte shuffle of two v128 values (16 lane indices 0–31). */
  i8x16Shuffle: (lanes: number[]) => [...simd(0x0d), ...lanes],
  f32: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)],
};

/** `counter = count; do { body } while (--counter)`: count ≥ 1. */
export function repeat(counter: number, count: number, ...body: number[][]): number[] {
  return [
    ...op.i32(count),
    ...op.set(counter),
    ...op.loop(...body, op.get(counter), op.i32(1), op.sub, op.tee(counter), op.brIf(0)),
  ];
}

export const addTo = (local: number, k: number): number[] => [
  ...op.get(local),
  ...op.i32(k),
  ...op.add,
  ...op.set(local),
];
export const copy = (to: number, from: number): number[] => [...op.get(from), ...op.set(to)];
/**
 * `rows` × channel blocks: for every row (param local `rows`, counted down to 0; ≥ 1) the byte offset `c` runs
 * 0, 16, …, cols − 16 (`cols` a local holding the row's byte length). Each `[local, param]` pointer starts at its
 * param and advances 16 bytes per block — rows are contiguous, so it walks the whole [rows, cols] array.
 */
export function rowsByChannels(
  rows: number,
  cols: number,
  c: number,
  pointers: [number, number][],
  body: number[][],
): number[] {
  const inner = op.loop(
    ...body,
    ...pointers.map(([local]) => addTo(local, 16)),
    op.get(c),
    op.i32(16),
    op.add,
    op.tee(c),
    op.get(cols),
    op.ltS,
    op.brIf(0),
  );
  return [
    ...pointers.flatMap(([local, param]) => copy(local, param)),
    ...op.loop(op.i32(0), op.set(c), inner, op.get(rows), op.i32(1), op.sub, op.tee(rows), op.brIf(0)),
  ];
}

const modules = new Map<string, (...args: number[]) => void>();
let modulesMemory: object | null = null;

/** Compiles (once per key and heap) and returns the `run` export of a generated module. */
export function cachedKernel(key: string, memory: object, build: () => Uint8Array): (...args: number[]) => void {
  if (modulesMemory !== memory) {
    modules.clear();
    modulesMemory = memory;
  }
  let run = modules.get(key);
  if (run === undefined) {
    run = instantiate(build(), memory);
    modules.set(key, run);
  }
  return run;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * Encodes a module with one exported function `run(params: i32…)` that imports `env.memory`.
 * `locals` lists extra locals as [count, type] runs.
 */
export function encodeModule(paramCount: number, locals: [number, number][], body: number[]): Uint8Array {
  const funcType = [0x60, ...uleb(paramCount), ...new Array<number>(paramCount).fill(I32), 0];
  const types = section(1, [1, ...funcType]);
  const imports = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]);
  const funcs = section(3, [1, 0]);
  const exports = section(7, [1, ...name('run'), 0x00, 0]);
  const localDecl = [...uleb(locals.length), ...locals.flatMap(([count, type]) => [...uleb(count), type])];
  const fn = [...localDecl, ...body, 0x0b];
  const code = section(10, [1, ...uleb(fn.length), ...fn]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...funcs,
    ...exports,
    ...code,
  ]);
}

/** The subset of the WebAssembly JS API used here (lib "dom" is not in this project's tsconfig). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Instantiates `bytes` synchronously against `memory` and returns its `run` export. */
export function instantiate(bytes: Uint8Array, memory: object): (...args: number[]) => void {
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  const run = instance.exports['run'];
  if (typeof run !== 'function') throw new Error('wasm-asm: module has no run export');
  return run as (...args: number[]) => void;
}
