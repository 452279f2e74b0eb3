import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { f32, heapOffset, KernelScope, type WasmBackend } from '../kernel-utils.js';
import { addTo, cachedKernel, encodeModule, groupsOfFour, Locals, op, splatConstants } from '../../wasm/index.js';
import { canRenewBufferIds, renewBufferId } from '../adam/adam-update.js';

/** One term of {@link scaleAddInPlace}: values anywhere in memory (a SharedArrayBuffer's too), and their weight. */
export interface ScaledValues {
  values: Float32Array;
  weight: number;
}

/**
 * SIMD `X[i] = X[i]·k0 + Y[i]·k1` over `count` groups of four, in float32: two products, each rounded, then their
 * rounded sum (no fused multiply-add, so the result is the same on every engine). Params: X, Y, K (2 floats), COUNT.
 */
function scaleAddModule(): Uint8Array {
  const l = new Locals(4);
  const [X, Y, K, COUNT] = l.paramIndices();
  const off = l.i32();
  const [kx, ky] = l.v128s(2);
  const at = (base: number): number[] => [...op.get(base), ...op.get(off), ...op.add];
  const step = [
    ...at(X),
    ...at(X),
    ...op.v128Load(0),
    ...op.get(kx),
    ...op.f32x4Mul,
    ...at(Y),
    ...op.v128Load(0),
    ...op.get(ky),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.v128Store(0),
    ...addTo(off, 16),
  ];
  return encodeModule(l, [...splatConstants(K, [kx, ky]), ...groupsOfFour(COUNT, off, step)]);
}

/**
 * Whether {@link scaleAddInPlace} and {@link writeInPlace} can change `t` in place: the wasm backend (with
 * tfjs-backend-wasm 4.22's bookkeeping), float32, and no other tensor sharing its buffer (a reshape of it, say).
 */
export function changesInPlace(t: tf.Tensor): boolean {
  if (tf.getBackend() !== 'wasm' || t.dtype !== 'float32') return false;
  const backend = tf.backend() as unknown as WasmBackend;
  return canRenewBufferIds(backend) && backend.refCount(t.dataId) === 1;
}

/**
 * `target := target·selfWeight + Σ terms[i].values·terms[i].weight` in float32, in place on the wasm heap, summed
 * in that order (one rounding per product and per addition): each term's values are copied onto the heap (one
 * memcpy) and added by one generated SIMD loop. A data-parallel replica sums the other replicas' gradients (in
 * shared memory) into its own this way, instead of a JavaScript loop over the shared buffer (≈ 2 ns per float
 * alone, 5–7 ms per step for MobileNetV2 α1.0's 1.1 M parameters between two busy replicas) and a copy of the sum
 * onto the heap.
 *
 * Returns false and changes nothing where it cannot ({@link changesInPlace}). The buffer gets a new id on the
 * backend's C++ side afterwards, as Adam's in-place step does: XNNPACK's caches of a weight packed under the old
 * id go with it.
 */
export function scaleAddInPlace(target: tf.Tensor, selfWeight: number, terms: readonly ScaledValues[]): boolean {
  const n = target.size;
  if (terms.length === 0) throw new Error('scaleAddInPlace: no term to add');
  for (const t of terms)
    if (t.values.length !== n)
      throw new Error(
        `scaleAddInPlace: a term has ${t.values.length} values, the target ${n} (shape [${target.shape}])`,
      );
  if (!changesInPlace(target)) return false;
  const backend = tf.backend() as unknown as WasmBackend;
  const x: TensorInfo = { dataId: target.dataId, shape: target.shape, dtype: 'float32' };
  const s = new KernelScope(backend);
  try {
    const y = s.track(backend.makeOutput([n], 'float32'));
    const k = s.track(backend.makeOutput([2], 'float32'));
    const run = cachedKernel('scale-add', backend.wasm.asm.memory, scaleAddModule);
    const vec = n - (n % 4);
    const fr = Math.fround;
    terms.forEach((t, i) => {
      const [kx, ky] = [fr(i === 0 ? selfWeight : 1), fr(t.weight)];
      f32(backend, y).set(t.values);
      f32(backend, k).set([kx, ky]);
      run(heapOffset(backend, x), heapOffset(backend, y), heapOffset(backend, k), vec / 4);
      // The last n % 4 elements in float32 steps, as the SIMD lanes compute them.
      const [X, Y] = [f32(backend, x), f32(backend, y)];
      for (let j = vec; j < n; j++) X[j] = fr(fr((X[j] as number) * kx) + fr((Y[j] as number) * ky));
    });
  } finally {
    s.dispose();
  }
  renewBufferId(backend, x);
  return true;
}

/**
 * Overwrites `target`'s values in place on the wasm heap with `values` (one memcpy), renewing the buffer's id as
 * {@link scaleAddInPlace} does: a variable set from shared memory without a new tensor, a kernel call and an
 * assignment. Returns false and changes nothing where it cannot ({@link changesInPlace}): the caller then assigns
 * a new tensor.
 */
export function writeInPlace(target: tf.Tensor, values: Float32Array): boolean {
  if (values.length !== target.size)
    throw new Error(`writeInPlace: ${values.length} values for a target of ${target.size} (shape [${target.shape}])`);
  if (!changesInPlace(target)) return false;
  const backend = tf.backend() as unknown as WasmBackend;
  const x: TensorInfo = { dataId: target.dataId, shape: target.shape, dtype: 'float32' };
  f32(backend, x).set(values);
  renewBufferId(backend, x);
  return true;
}
