import { expect } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so cpu and wasm see the same data. */
export function randomArray(size: number, seed: number, offset = 0): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1 + offset;
  }
  return out;
}

/** Runs `f` with `backend` active and returns its outputs' values, leaving no tensors behind. */
export async function runOn(
  backend: 'cpu' | 'wasm',
  f: () => tf.Tensor | tf.Tensor[] | tf.NamedTensorMap,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const r = f();
    return r instanceof tf.Tensor ? [r] : Array.isArray(r) ? r : Object.values(r);
  });
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

/** max |a−b| / max |b|: a scale-aware error for sums of many products, robust where entries are near 0. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Runs `f` on wasm with `kernelFunc` standing in for `kernelName`, then restores the registered one. */
export async function withKernel<T>(kernelName: string, kernelFunc: tf.KernelFunc, f: () => Promise<T>): Promise<T> {
  const registered = tf.getKernel(kernelName, 'wasm');
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  try {
    return await f();
  } finally {
    tf.unregisterKernel(kernelName, 'wasm');
    if (registered) tf.registerKernel(registered);
  }
}

/** Backend buffers alive on wasm: catches intermediates a kernel forgot to free (invisible to numTensors). */
export function wasmDataIds(): number {
  return (tf.engine().findBackend('wasm') as unknown as { numDataIds(): number }).numDataIds();
}

/**
 * Runs `f` on cpu, then on wasm, and expects the same outputs (relative error below `tolerance`) with no tensor
 * and no wasm buffer left behind by the wasm run.
 */
export async function expectSameOnBothBackends(f: () => tf.Tensor | tf.Tensor[], tolerance: number): Promise<void> {
  const cpu = await runOn('cpu', f);
  const tensorsBefore = tf.memory().numTensors;
  const buffersBefore = wasmDataIds();
  const wasm = await runOn('wasm', f);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(wasmDataIds()).toBe(buffersBefore);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, i) => {
    const w = wasm[i] as Float32Array;
    expect(w.length).toBe(c.length);
    expect(relativeError(w, c)).toBeLessThan(tolerance);
  });
}

/**
 * Runs `f` on cpu, then on wasm, and expects exactly the same values (kernels that only move data: pads,
 * transposes, concatenations) with no wasm buffer left behind by the wasm run.
 */
export async function expectExactOnBothBackends(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const cpu = await runOn('cpu', f);
  const buffersBefore = wasmDataIds();
  const wasm = await runOn('wasm', f);
  expect(wasmDataIds()).toBe(buffersBefore);
  expect(wasm.map((w) => Array.from(w))).toEqual(cpu.map((c) => Array.from(c)));
}
