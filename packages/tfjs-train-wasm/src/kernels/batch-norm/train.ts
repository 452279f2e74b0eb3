import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, input, KernelScope, type WasmBackend, type WasmKernelArgs, heapOffset } from '../kernel-utils.js';
import { cachedKernel, encodeModule, Locals, op, rowsByChannels } from '../../wasm/index.js';

/** Kernel names of the two passes of BatchNorm training (wasm only; see src/batch-norm.ts). */
export const BATCH_NORM_STATS = 'FersweepBatchNormStats';
export const BATCH_NORM_BACKPROP = 'FersweepBatchNormBackprop';
export const BATCH_NORM_MOVING = 'FersweepBatchNormMovingAverages';

/**
 * SIMD pass over a [rows, cols] pair, with S1, S2 at OUT and OUT + cols (running sums in memory: the row loop
 * streams, the per-channel sums stay in L1):
 * - 'cross': S1[c] += Σ_r A[r,c] and S2[c] += Σ_r A[r,c]·(B[r,c] − M[c]);
 * - 'shifted': with d = A[r,c] − M[c], S1[c] += Σ d and S2[c] += Σ d² (B unused).
 * Params: A, B, M, OUT, ROWS, COLS (bytes).
 */
function momentsModule(kind: 'cross' | 'shifted'): Uint8Array {
  const l = new Locals(6);
  const [A, B, M, OUT, ROWS, COLS] = l.paramIndices();
  const [c, ap, bp] = l.i32s(3);
  const d = l.v128();
  const at = (base: number, extra: number[] = []): number[] => [...op.get(base), ...op.get(c), ...op.add, ...extra];
  const body = rowsByChannels(
    ROWS,
    COLS,
    c,
    [
      [ap, A],
      [bp, B],
    ],
    kind === 'cross'
      ? [
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
        ]
      : [
          // d = a − m; S1 += d; S2 += d²
          op.get(ap),
          op.v128Load(0),
          at(M),
          op.v128Load(0),
          op.f32x4Sub,
          op.set(d),
          at(OUT),
          at(OUT),
          op.v128Load(0),
          op.get(d),
          op.f32x4Add,
          op.v128Store(0),
          at(OUT, [...op.get(COLS), ...op.add]),
          at(OUT, [...op.get(COLS), ...op.add]),
          op.v128Load(0),
          op.get(d),
          op.get(d),
          op.f32x4Mul,
          op.f32x4Add,
          op.v128Store(0),
        ],
  );
  return encodeModule(l, body);
}

/**
 * SIMD pass out[r,c] = A[r,c]·P[c] + B[r,c]·Q[c] + R[c], with P, Q, R consecutive at VEC (each `cols` floats).
 * Params: A, B, VEC, OUT, ROWS, COLS (bytes).
 */
function affine2Module(): Uint8Array {
  const l = new Locals(6);
  const [A, B, VEC, OUT, ROWS, COLS] = l.paramIndices();
  const [c, ap, bp, outp] = l.i32s(4);
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
  return encodeModule(l, body);
}

/** Rows per float32 block of the moment sums; blocks are added up in float64. */
const MOMENT_BLOCK_ROWS = 512;

/**
 * The moment sums of {@link momentsModule} over all `rows`, accumulated in float32 within blocks of
 * MOMENT_BLOCK_ROWS rows and in float64 across blocks: a float32 running sum over 150k rows drifts by ~1e-4
 * relative, block sums stay near 1e-6. Returns S1 then S2 (2·cols values).
 */
function blockedMoments(
  backend: WasmBackend,
  kind: 'cross' | 'shifted',
  a: TensorInfo,
  b: TensorInfo,
  m: TensorInfo,
  scratch: TensorInfo,
  rows: number,
  cols: number,
): Float64Array {
  const run = cachedKernel(`bn-moments-${kind}`, backend.wasm.asm.memory, () => momentsModule(kind));
  const total = new Float64Array(2 * cols);
  const rowBytes = cols * 4;
  const [aAt, bAt, mAt, sAt] = [a, b, m, scratch].map((t) => heapOffset(backend, t)) as [
    number,
    number,
    number,
    number,
  ];
  // The kernel allocates nothing, so one view of the scratch serves every block.
  const block = f32(backend, scratch);
  for (let r0 = 0; r0 < rows; r0 += MOMENT_BLOCK_ROWS) {
    block.fill(0);
    run(aAt + r0 * rowBytes, bAt + r0 * rowBytes, mAt, sAt, Math.min(MOMENT_BLOCK_ROWS, rows - r0), rowBytes);
    for (let i = 0; i < 2 * cols; i++) total[i] = (total[i] as number) + (block[i] as number);
  }
  return total;
}

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
 * Batch statistics over every axis but the last: outputs mean [C] and biased variance [C], as tf.moments. One
 * pass of the shifted-data algorithm: with s = the first row, S1 = Σ(x − s), S2 = Σ(x − s)², mean = s + S1/R and
 * var = S2/R − (S1/R)² (in float64). Shifting by a sample of the data keeps the subtraction benign where
 * E[x²] − mean² would cancel.
 */
export function batchNormStatsWasm(args: WasmKernelArgs<Record<string, never>>): TensorInfo[] {
  const { backend } = args;
  const x = input(args, 'x');
  const [rows, c] = rowsCols(x, BATCH_NORM_STATS);
  const s = new KernelScope(backend);
  try {
    const sums = s.zeros([2, c]);
    const shift = s.track(backend.makeOutput([c], 'float32'));
    const mean = s.track(backend.makeOutput([c], 'float32'));
    const variance = s.track(backend.makeOutput([c], 'float32'));
    const first = f32(backend, x).subarray(0, c);
    f32(backend, shift).set(first);
    const sv = blockedMoments(backend, 'shifted', x, x, shift, sums, rows, c);
    const [sh, m, v] = [f32(backend, shift), f32(backend, mean), f32(backend, variance)];
    for (let i = 0; i < c; i++) {
      const d = (sv[i] as number) / rows;
      m[i] = (sh[i] as number) + d;
      v[i] = Math.max(0, (sv[c + i] as number) / rows - d * d);
    }
    return [s.keep(mean), s.keep(variance)];
  } finally {
    s.dispose();
  }
}

interface BackpropAttrs {
  varianceEpsilon: number;
}

/**
 * The whole training-mode BatchNorm gradient (through the batch mean and variance) in two passes:
 *   S1 = Σdy, S2 = Σdy·(x − μ), inv = rsqrt(var + ε), k = γ·inv;
 *   dγ = inv·S2, dβ = S1, dx = dy·k + x·p + q with p = −k·inv²·S2/R, q = −k·S1/R − p·μ.
 * Outputs dx, dγ and dβ. tfjs-layers' composition (moments, then FusedBatchNorm) takes ~15 passes.
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
    const sv = blockedMoments(backend, 'cross', dy, x, mean, sums, rows, c);
    const vecs = s.track(backend.makeOutput([3, c], 'float32'));
    const dGamma = s.track(backend.makeOutput([c], 'float32'));
    const dBeta = s.track(backend.makeOutput([c], 'float32'));
    const dx = s.track(backend.makeOutput(x.shape.slice(), 'float32'));
    const m = f32(backend, mean);
    const v = f32(backend, variance);
    const g = f32(backend, scale);
    const pv = f32(backend, vecs);
    const [dg, db] = [f32(backend, dGamma), f32(backend, dBeta)];
    for (let i = 0; i < c; i++) {
      const s1 = sv[i] as number;
      const s2 = sv[c + i] as number;
      const inv = 1 / Math.sqrt((v[i] as number) + eps);
      const k = (g[i] as number) * inv;
      const p = (-k * inv * inv * s2) / rows;
      pv[i] = k;
      pv[c + i] = p;
      pv[2 * c + i] = (-k * s1) / rows - p * (m[i] as number);
      dg[i] = inv * s2;
      db[i] = s1;
    }
    cachedKernel('bn-affine2', memory, affine2Module)(
      heapOffset(backend, dy),
      heapOffset(backend, x),
      heapOffset(backend, vecs),
      heapOffset(backend, dx),
      rows,
      c * 4,
    );
    return [s.keep(dx), s.keep(dGamma), s.keep(dBeta)];
  } finally {
    s.dispose();
  }
}

interface MovingAttrs {
  momentum: number;
}

/**
 * Keras' moving-average update of both statistics in one kernel: v ← v − (v − value)·(1 − momentum), in float32
 * steps as tfjs-layers' sub/mul/sub computes it (six kernels per layer there). Outputs the new moving mean and
 * moving variance.
 */
export function batchNormMovingWasm(args: WasmKernelArgs<MovingAttrs>): TensorInfo[] {
  const { backend } = args;
  const names = ['movingMean', 'movingVariance', 'mean', 'variance'] as const;
  const [mm, mv, mean, variance] = names.map((n) => input(args, n)) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const c = util.sizeFromShape(mm.shape);
  const decay = Math.fround(1 - args.attrs.momentum);
  const outs = [mm, mv].map((t) => backend.makeOutput(t.shape.slice(), 'float32'));
  const fr = Math.fround;
  const pairs: [TensorInfo, TensorInfo, TensorInfo][] = [
    [mm, mean, outs[0] as TensorInfo],
    [mv, variance, outs[1] as TensorInfo],
  ];
  for (const [old, value, out] of pairs) {
    const [o, val, dst] = [f32(backend, old), f32(backend, value), f32(backend, out)];
    for (let i = 0; i < c; i++) {
      const cur = o[i] as number;
      dst[i] = fr(cur - fr(fr(cur - (val[i] as number)) * decay));
    }
  }
  return outs;
}
