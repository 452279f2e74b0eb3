import type { Locals } from './locals.js';
import { core, I32, uleb } from './opcodes.js';
import { chosenSimdMode } from './simd-mode.js';

/**
 * A minimal WebAssembly module encoder, enough to emit shape-specialised SIMD loops that run on tfjs' own wasm
 * heap (the module imports the backend's memory). Hand-encoding keeps the project free of a wasm toolchain;
 * instructions come from the opcode table (opcodes.ts), locals from an allocator (locals.ts).
 * Spec: https://webassembly.github.io/spec/core/binary/
 */

const modules = new Map<string, (...args: number[]) => void>();
let modulesMemory: object | null = null;

/**
 * Compiles (once per key, heap and SIMD mode: a kernel built for relaxed SIMD differs from its SIMD128 twin) and
 * returns the `run` export of a generated module.
 */
export function cachedKernel(name: string, memory: object, build: () => Uint8Array): (...args: number[]) => void {
  const keyOf = (): string => `${chosenSimdMode() ?? 'simd128'}:${name}`;
  if (modulesMemory !== memory) {
    modules.clear();
    modulesMemory = memory;
  }
  let run = modules.get(keyOf());
  if (run === undefined) {
    const bytes = build(); // may choose the SIMD mode (the first kernel built): key it after
    run = instantiate(bytes, memory);
    modules.set(keyOf(), run);
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
 * Encodes a module with one exported function `run(params: i32…)` that imports `env.memory`; `locals` numbered
 * its parameters and locals.
 */
export function encodeModule(locals: Pick<Locals, 'params' | 'declarations'>, body: number[]): Uint8Array {
  const paramCount = locals.params;
  const funcType = [0x60, ...uleb(paramCount), ...new Array<number>(paramCount).fill(I32), 0];
  const types = section(1, [1, ...funcType]);
  const imports = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]);
  const funcs = section(3, [1, 0]);
  const exports = section(7, [1, ...name('run'), 0x00, 0]);
  const declarations = locals.declarations();
  const localDecl = [...uleb(declarations.length), ...declarations.flatMap(([count, type]) => [...uleb(count), type])];
  const fn = [...localDecl, ...body, ...core('end')];
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
  if (typeof run !== 'function') throw new Error('wasm module: no run export');
  return run as (...args: number[]) => void;
}
