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
