import type { BatchMatMulAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, input, withScope, type KernelScope, type WasmKernelArgs } from '../kernel-utils.js';
import { runGemmNN } from './gemm-tn.js';

/** [batch, rows, cols] of a rank-2 or rank-3 operand; undefined for other ranks. */
function dims3(t: TensorInfo): [number, number, number] | undefined {
  const s = t.shape;
  if (s.length === 2) return [1, s[0]!, s[1]!];
  if (s.length === 3) return [s[0]!, s[1]!, s[2]!];
  return undefined;
}

/**
 * A·B with fersweep's unpacked GEMM ({@link runGemmNN}) when it applies: float32, rank 2 or 3, batches equal or
 * one of them 1, M and N multiples of 4. Undefined otherwise (the stock kernel runs).
 *
 * The stock kernel is XNNPACK's fully-connected operator, which packs B on every call with a B it has not seen
 * (≈ 3.5 ns per float on the development VM). In training B is a weight that changed at the last step, or a
 * Winograd-transformed filter made for this call, so that packing is paid every time: for a [16, 1280]·[1280,
 * 320] product 2.5 ms against 0.6 ms for the multiplication itself, and still 14.5 against 5.8 ms at 256 rows
 * (bench/RESULTS.md, "scaling"). It is most of what every training step costs regardless of its batch size.
 */
function gemmNN(s: KernelScope, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const da = dims3(a);
  const db = dims3(b);
  if (da === undefined || db === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const [ba, m, k] = da;
  const [bb, kb, n] = db;
  if (k !== kb || m % 4 !== 0 || n % 4 !== 0 || m === 0 || n === 0 || k === 0) return undefined;
  if (ba !== bb && ba !== 1 && bb !== 1) return undefined;
  const batch = Math.max(ba, bb);
  const rank3 = a.shape.length === 3 || b.shape.length === 3;
  const out = s.zeros(rank3 ? [batch, m, n] : [m, n]);
  const [pa, pb, po] = [a, b, out].map((t) => heapOffset(s.backend, t)) as [number, number, number];
  for (let i = 0; i < batch; i++) {
    runGemmNN(
      s.backend,
      { k, m, n },
      pa + (ba === 1 ? 0 : i * m * k * 4),
      pb + (bb === 1 ? 0 : i * k * n * 4),
      po + i * m * n * 4,
    );
  }
  return out;
}

/**
 * BatchMatMul: transposed operands are transposed explicitly first (the stock wasm kernel's transposeA/transposeB
 * paths run at 0.4/1.7 GFLOP/s against ~23 untransposed, and every Dense layer's gradient uses them); then the
 * product runs as fersweep's unpacked GEMM where it applies ({@link gemmNN}), else as the stock kernel.
 */
export function makeBatchMatMulWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<BatchMatMulAttrs>): TensorInfo => {
    const { transposeA, transposeB } = args.attrs;
    const a = input(args, 'a');
    const b = input(args, 'b');
    return withScope(args.backend, (s) => {
      const swapLast = (t: TensorInfo): TensorInfo => {
        const r = t.shape.length;
        const perm = t.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
        return s.transpose(t, perm);
      };
      const left = transposeA ? swapLast(a) : a;
      const right = transposeB ? swapLast(b) : b;
      return gemmNN(s, left, right) ?? s.run(stock, { a: left, b: right }, { transposeA: false, transposeB: false });
    });
  };
}
