import { util, type KernelConfig, type KernelFunc, type TensorInfo, type TransposeAttrs } from '@tensorflow/tfjs-core';
import { heapOffset, input, type WasmKernelArgs } from '../kernel-utils.js';
import { addTo, cachedKernel, core, encodeModule, Locals, op } from '../../wasm/index.js';

/**
 * A transpose with its size-1 axes dropped and the axes that stay adjacent, in order, merged: the same data
 * movement on the fewest axes. [1, 2304, 64] by [0, 2, 1] is [2304, 64] by [1, 0]; [kh, kw, ci, co] by
 * [0, 1, 3, 2] is [kh·kw, ci, co] by [0, 2, 1].
 */
export function collapseTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => (shape[axis] ?? 1) !== 1);
  // Runs of output axes that are consecutive input axes become one axis.
  const groups: number[][] = [];
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] === axis - 1) last.push(axis);
    else groups.push([axis]);
  }
  const byInput = groups.slice().sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInput.map((g) => g.reduce((n, axis) => n * shape[axis]!, 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

/**
 * out[b, j, i] = in[b, i, j] for B matrices of R × C float32 (R and C multiples of 4), 4 × 4 blocks at a time:
 * four rows loaded, transposed in registers by eight lane shuffles, stored as four output rows. Params: IN, OUT,
 * R, C, B. A stripe of four input rows is read in order while its blocks go to C output rows, so one pass writes
 * 16 bytes of each of C output rows (C · 64 bytes of cache lines in flight, then filled by the next stripes).
 */
function transposeModule(): Uint8Array {
  const l = new Locals(5);
  const [IN, OUT, R, C, B] = l.paramIndices();
  const [s0, s1, s2, s3, d0, d1, d2, d3, rowBytes, colBytes, stripeOut, column, rows, cols] = l.i32s(14);
  const [r0, r1, r2, r3, t0, t1, t2, t3] = l.v128s(8);
  // Byte lanes of i32x4 lanes (0–3: first operand, 4–7: second).
  const lanes = (i32Lanes: number[]): number[] => i32Lanes.flatMap((lane) => [0, 1, 2, 3].map((b) => lane * 4 + b));
  const shuffle = (a: number, b: number, i32Lanes: number[]): number[] => [
    ...op.get(a),
    ...op.get(b),
    ...op.i8x16Shuffle(lanes(i32Lanes)),
  ];
  const load = (ptr: number, into: number): number[] => [...op.get(ptr), ...op.v128Load(0), ...op.set(into)];
  const store = (ptr: number, value: number[]): number[] => [...op.get(ptr), ...value, ...op.v128Store(0)];
  /** to = from + bytes (a local). */
  const plus = (to: number, from: number, bytes: number): number[] => [
    ...op.get(from),
    ...op.get(bytes),
    ...op.add,
    ...op.set(to),
  ];
  const times4 = (to: number, from: number): number[] => [...op.get(from), ...op.i32(4), ...op.mul, ...op.set(to)];
  const quarter = (to: number, from: number): number[] => [
    ...op.get(from),
    ...op.i32(2),
    ...core('i32.shr_u'),
    ...op.set(to),
  ];
  const countdown = (counter: number): number[] => [
    ...op.get(counter),
    ...op.i32(1),
    ...op.sub,
    ...op.tee(counter),
    ...op.brIf(0),
  ];
  // One 4 × 4 block: rows s0…s3 → output rows d0…d3, then the next block of the stripe.
  const block = [
    ...load(s0, r0),
    ...load(s1, r1),
    ...load(s2, r2),
    ...load(s3, r3),
    ...shuffle(r0, r1, [0, 4, 1, 5]),
    ...op.set(t0),
    ...shuffle(r0, r1, [2, 6, 3, 7]),
    ...op.set(t1),
    ...shuffle(r2, r3, [0, 4, 1, 5]),
    ...op.set(t2),
    ...shuffle(r2, r3, [2, 6, 3, 7]),
    ...op.set(t3),
    ...store(d0, shuffle(t0, t2, [0, 1, 4, 5])),
    ...store(d1, shuffle(t0, t2, [2, 3, 6, 7])),
    ...store(d2, shuffle(t1, t3, [0, 1, 4, 5])),
    ...store(d3, shuffle(t1, t3, [2, 3, 6, 7])),
    ...[s0, s1, s2, s3].flatMap((p) => addTo(p, 16)),
    ...[d0, d1, d2, d3].flatMap((p) => plus(p, p, stripeOut)),
  ];
  // One stripe of four input rows (s0: its first row) into column `column` of the output rows. Afterwards s3 is
  // at the first row of the next stripe.
  const stripe = [
    ...plus(s1, s0, rowBytes),
    ...plus(s2, s1, rowBytes),
    ...plus(s3, s2, rowBytes),
    ...op.get(column),
    ...op.set(d0),
    ...plus(d1, d0, colBytes),
    ...plus(d2, d1, colBytes),
    ...plus(d3, d2, colBytes),
    ...quarter(cols, C),
    ...op.loop(block, countdown(cols)),
    ...op.get(s3),
    ...op.set(s0),
    ...addTo(column, 16),
  ];
  // One matrix: IN and OUT at its first byte; afterwards both at the next matrix's.
  const matrix = [
    ...op.get(IN),
    ...op.set(s0),
    ...op.get(OUT),
    ...op.set(column),
    ...quarter(rows, R),
    ...op.loop(stripe, countdown(rows)),
    ...op.get(s0),
    ...op.set(IN),
    ...op.get(OUT),
    ...op.get(R),
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(OUT),
  ];
  return encodeModule(l, [
    ...times4(rowBytes, C),
    ...times4(colBytes, R),
    ...times4(stripeOut, colBytes),
    ...op.get(B),
    ...op.if_(op.loop(matrix, countdown(B))),
  ]);
}

/** The 2-D (or batched 2-D) transposes this kernel runs: float32, both sides a multiple of 4. */
function batchedMatrix(x: TensorInfo, perm: readonly number[]): [number, number, number] | null {
  if (x.dtype !== 'float32') return null;
  const c = collapseTranspose(x.shape, perm);
  let dims: [number, number, number] | null = null;
  if (c.perm.length === 2 && c.perm[0] === 1) dims = [1, c.shape[0]!, c.shape[1]!];
  else if (c.perm.length === 3 && c.perm[0] === 0 && c.perm[1] === 2) dims = [c.shape[0]!, c.shape[1]!, c.shape[2]!];
  if (dims === null || dims[1] % 4 !== 0 || dims[2] % 4 !== 0) return null;
  return dims;
}

/**
 * Transpose: swaps of two axes of float32 tensors (after {@link collapseTranspose}: [R, C] → [C, R] or
 * [B, R, C] → [B, C, R]) with both sides a multiple of 4 run on a generated SIMD loop of 4 × 4 blocks; anything
 * else on the stock kernel. The stock one moves one element at a time (0.75–1.4 ns per float for MobileNetV2's
 * 1×1 filters); every pointwise layer's input gradient transposes its filter, every step.
 */
export function makeTransposeWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<TransposeAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const { perm } = args.attrs;
    const dims = batchedMatrix(x, perm);
    if (dims === null) return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const { backend } = args;
    const outShape = perm.map((axis) => x.shape[axis]!);
    const out = backend.makeOutput(outShape, 'float32');
    if (util.sizeFromShape(outShape) > 0) {
      const [b, r, c] = dims;
      cachedKernel('transpose-4x4', backend.wasm.asm.memory, transposeModule)(
        heapOffset(backend, x),
        heapOffset(backend, out),
        r,
        c,
        b,
      );
    }
    return out;
  };
}
