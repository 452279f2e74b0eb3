import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, input, KernelScope, withScope, type WasmBackend, type WasmKernelArgs } from './kernel-utils.js';
import { cachedKernel, encodeModule, I32, op, rowsByChannels } from './wasm-asm.js';

/** Kernel names of the two passes of BatchNorm training (wasm only; see runtime/batch-norm.ts). */
export const BATCH_NORM_STATS = 'FersweepBatchNormStats';
export const BATCH_NORM_BACKPROP = 'FersweepBatchNormBackprop';

/**
 * SIMD pass over a [rows, cols] pair: S1[c] += Σ_r A[r,c] and S2[c] += Σ_r A[r,c]·(B[r,c] − M[c]) with S1, S2 at
 * OUT and OUT + cols (running sums in memory: the row loop streams, the per-channel sums stay in L1).
 * Params: A, B, M, OUT, ROWS, COLS (bytes).
 */
function momentsModule(): Uint8Array {
  const [A, B, M, OUT, ROWS, COLS, c, ap, bp] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const at = (base: number, extra: number[] = []): number[] => [...op.get(base), ...op.get(c), ...op.add, ...extra];
  const body = rowsByChannels(
    ROWS,
    COLS,
    c,
    [
      [ap, A],
      [bp, B],
    ],
    [
      // S1 += a
      at(OUT),
      at(OUT),
      op.v128Load(0),
      op.get(ap),
      op.v128Load(0),
      op.f32x4Add,
      op.v128Store(0),
      // S2 += a·(b − m)
      at(OUT, [...op.get(COLS), ...op.add]),
      at(OUT, [...op.get(COLS), ...op.add]),
      op.v128Load(0),
      op.get(ap),
      op.v128Load(0),
      op.get(bp),
      op.v128Load(0),
      at(M),
      op.v128Load(0),
      op.f32x4Sub,
      op.f32x4Mul,
      op.f32x4Add,
      op.v128Store(0),
    ],
  );
  return encodeModule(6, [[3, I32]], body);
}

/**
 * SIMD pass out[r,c] = A[r,c]·P[c] + B[r,c]·Q[c] + R[c], with P, Q, R consecutive at VEC (each `cols` floats).
 * Params: A, B, VEC, OUT, ROWS, COLS (bytes).
 */
function affine2Module(): Uint8Array {
  const [A, B, VEC, OUT, ROWS, COLS, c, ap, bp, outp] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const vec = (k: number): number[] => [
    ...op.get(VEC),
    ...op.get(c),
    ...op.add,
    ...(k === 0 ? [] : [...op.get(COLS), ...op.i32(k), ...op.mul, ...op.add]),
    ...op.v128Load(0),
  ];
  const body = rowsByChannels(
    ROWS,
    COLS,
    c,
    [
      [ap, A],
      [bp, B],
      [outp, OUT],
    ],
    [
      op.get(outp),
      op.get(ap),
      op.v128Load(0),
      vec(0),
      op.f32x4Mul,
      op.get(bp),
      op.v128Load(0),
      vec(1),
      op.f32x4Mul,
      op.f32x4Add,
      vec(2),
      op.f32x4Add,
      op.v128Store(0),
    ],
  );
  return encodeModule(6, [[4, I32]], body);
}

const ptr = (backend: WasmBackend, t: TensorInfo): number => backend.getMemoryOffset(t.dataId);

/** Rows and channels of a channels-last tensor, checking the SIMD preconditions. */
function rowsCols(x: TensorInfo, kernel: string): [number, number] {
  const c = x.shape[x.shape.length - 1];
  if (c === undefined || c % 4 !== 0 || x.dtype !== 'float32') {
    throw new Error(
      `${kernel}: needs a float32 tensor whose last dimension is a multiple of 4, got [${x.shape.join(', ')}]`,
    );
  }
  return [util.sizeFromShape(x.shape) / c, c];
}

/**
 * Batch statistics over every axis but the last: out [2, C] = (mean, biased variance), as tf.moments. Two passes:
 * Σx, then Σx·(x − mean) = Σ(x − mean)² (no cancellation, unlike E[x²] − mean²).
 */
export function batchNormStatsWasm(args: WasmKernelArgs<Record<string, never>>): TensorInfo {
  const { backend } = args;
  const x = input(args, 'x');
  const [rows, c] = rowsCols(x, BATCH_NORM_STATS);
  const run = cachedKernel('bn-moments', backend.wasm.asm.memory, momentsModule);
  return withScope(backend, (s) => {
    const sums = s.zeros([2, c]);
    const mean = s.zeros([c]);
    run(ptr(backend, x), ptr(backend, x), ptr(backend, mean), ptr(backend, sums), rows, c * 4);
    const m = f32(backend, mean);
    const sv = f32(backend, sums);
    for (let i = 0; i < c; i++) m[i] = (sv[i] as number) / rows;
    sv.fill(0);
    run(ptr(backend, x), ptr(backend, x), ptr(backend, mean), ptr(backend, sums), rows, c * 4);
    const out = s.track(backend.makeOutput([2, c], 'float32'));
    const o = f32(backend, out);
    const m2 = f32(backend, mean);
    const s2 = f32(backend, sums);
    for (let i = 0; i < c; i++) {
      o[i] = m2[i] as number;
      o[c + i] = (s2[c + i] as number) / rows;
    }
    return out;
  });
}

interface BackpropAttrs {
  varianceEpsilon: number;
}

/**
 * The whole training-mode BatchNorm gradient (through the batch mean and variance) in two passes:
 *   S1 = Σdy, S2 = Σdy·(x − μ), inv = rsqrt(var + ε), k = γ·inv;
 *   dγ = inv·S2, dβ = S1, dx = dy·k + x·p + q with p = −k·inv²·S2/R, q = −k·S1/R − p·μ.
 * Outputs dx and [2, C] = (dγ, dβ). tfjs-layers' composition (moments, then FusedBatchNorm) takes ~15 passes.
 */
export function batchNormBackpropWasm(args: WasmKernelArgs<BackpropAttrs>): TensorInfo[] {
  const { backend } = args;
  const dy = input(args, 'dy');
  const x = input(args, 'x');
  const mean = input(args, 'mean');
  const variance = input(args, 'variance');
  const scale = input(args, 'scale');
  const eps = args.attrs.varianceEpsilon;
  const [rows, c] = rowsCols(x, BATCH_NORM_BACKPROP);
  const memory = backend.wasm.asm.memory;
  const s = new KernelScope(backend);
  try {
    const sums = s.zeros([2, c]);
    cachedKernel('bn-moments', memory, momentsModule)(
      ptr(backend, dy),
      ptr(backend, x),
      ptr(backend, mean),
      ptr(backend, sums),
      rows,
      c * 4,
    );
    const vecs = s.track(backend.makeOutput([3, c], 'float32'));
    const grads = s.track(backend.makeOutput([2, c], 'float32'));
    const dx = s.track(backend.makeOutput(x.shape.slice(), 'float32'));
    const sv = f32(backend, sums);
    const m = f32(backend, mean);
    const v = f32(backend, variance);
    const g = f32(backend, scale);
    const pv = f32(backend, vecs);
    const gv = f32(backend, grads);
    for (let i = 0; i < c; i++) {
      const s1 = sv[i] as number;
      const s2 = sv[c + i] as number;
      const inv = 1 / Math.sqrt((v[i] as number) + eps);
      const k = (g[i] as number) * inv;
      const p = (-k * inv * inv * s2) / rows;
      pv[i] = k;
      pv[c + i] = p;
      pv[2 * c + i] = (-k * s1) / rows - p * (m[i] as number);
      gv[i] = inv * s2;
      gv[c + i] = s1;
    }
    cachedKernel('bn-affine2', memory, affine2Module)(
      ptr(backend, dy),
      ptr(backend, x),
      ptr(backend, vecs),
      ptr(backend, dx),
      rows,
      c * 4,
    );
    return [s.keep(dx), s.keep(grads)];
  } finally {
    s.dispose();
  }
}
