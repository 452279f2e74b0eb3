import { CORE, RELAXED_SIMD, SIMD, type CoreOp, type SimdOp } from './opcode-table.js';

/**
 * Instruction encoding over the opcode table (opcode-table.ts): every generated kernel builds its code from
 * these helpers, each returning the instruction's bytes. Spec: https://webassembly.github.io/spec/core/binary/
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
/** Block type "no result". */
export const EMPTY_BLOCK = 0x40;
/** The prefix byte of every SIMD and relaxed-SIMD instruction. */
export const SIMD_PREFIX = 0xfd;

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

/** The bytes of a core instruction (without immediates). */
export function core(name: CoreOp): number[] {
  return [CORE[name][0]];
}

/** The bytes of a SIMD or relaxed-SIMD instruction (without immediates). */
export function simd(name: SimdOp): number[] {
  const entry = name in SIMD ? SIMD[name as keyof typeof SIMD] : RELAXED_SIMD[name as keyof typeof RELAXED_SIMD];
  return [SIMD_PREFIX, ...uleb(entry[0])];
}

/** memarg: alignment exponent (0: no promise, always valid) and byte offset. */
const memarg = (offset: number): number[] => [0, ...uleb(offset)];
const f32Bytes = (values: number[]): number[] => [...new Uint8Array(new Float32Array(values).buffer)];

/** Instruction helpers; each returns its bytes. Block types are always "no result". */
export const op = {
  get: (i: number) => [...core('local.get'), ...uleb(i)],
  set: (i: number) => [...core('local.set'), ...uleb(i)],
  tee: (i: number) => [...core('local.tee'), ...uleb(i)],
  i32: (v: number) => [...core('i32.const'), ...sleb(v)],
  f32: (v: number) => [...core('f32.const'), ...f32Bytes([v])],
  add: core('i32.add'),
  sub: core('i32.sub'),
  mul: core('i32.mul'),
  ltS: core('i32.lt_s'),
  ne: core('i32.ne'),
  /** `if (top of stack) { body }`. */
  if_: (...body: number[][]) => [...core('if'), EMPTY_BLOCK, ...body.flat(), ...core('end')],
  loop: (...body: number[][]) => [...core('loop'), EMPTY_BLOCK, ...body.flat(), ...core('end')],
  block: (...body: number[][]) => [...core('block'), EMPTY_BLOCK, ...body.flat(), ...core('end')],
  /** Branch to the enclosing label `depth` (0 = innermost) when the top of the stack is non-zero. */
  brIf: (depth: number) => [...core('br_if'), ...uleb(depth)],
  v128Load: (offset: number) => [...simd('v128.load'), ...memarg(offset)],
  v128Store: (offset: number) => [...simd('v128.store'), ...memarg(offset)],
  v128Zero: [...simd('v128.const'), ...new Array<number>(16).fill(0)],
  /** Stores lane `lane` of a v128 (f32) at address + offset. */
  v128Store32Lane: (offset: number, lane: number) => [...simd('v128.store32_lane'), ...memarg(offset), lane],
  /** Loads one f32 and splats it to four lanes. */
  v128Load32Splat: (offset: number) => [...simd('v128.load32_splat'), ...memarg(offset)],
  f32x4Const: (v: number) => [...simd('v128.const'), ...f32Bytes([v, v, v, v])],
  /** Lane-wise byte shuffle of two v128 values (16 lane indices 0–31). */
  i8x16Shuffle: (lanes: number[]) => [...simd('i8x16.shuffle'), ...lanes],
  f32x4Neg: simd('f32x4.neg'),
  f32x4Sqrt: simd('f32x4.sqrt'),
  f32x4Add: simd('f32x4.add'),
  f32x4Sub: simd('f32x4.sub'),
  f32x4Mul: simd('f32x4.mul'),
  f32x4Div: simd('f32x4.div'),
  f32x4Min: simd('f32x4.min'),
  f32x4Max: simd('f32x4.max'),
  f32x4Splat: simd('f32x4.splat'),
  f32x4Eq: simd('f32x4.eq'),
  f32x4Lt: simd('f32x4.lt'),
  f32x4Gt: simd('f32x4.gt'),
  f32x4Le: simd('f32x4.le'),
  f32x4Ge: simd('f32x4.ge'),
  v128Not: simd('v128.not'),
  v128And: simd('v128.and'),
  v128AndNot: simd('v128.andnot'),
  v128Or: simd('v128.or'),
};
