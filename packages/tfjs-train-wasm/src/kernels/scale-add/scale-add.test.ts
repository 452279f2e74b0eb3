import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../register.js';
import { randomArray, wasmDataIds } from '../../testing/compare.js';
import { scaleAddInPlace, writeInPlace } from './scale-add.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

/** What scaleAddInPlace computes, element by element in float32: ((x·w0 + t0·w'0)·1 + t1·w'1)… */
function reference(x: Float32Array, w: number, terms: { values: Float32Array; weight: number }[]): Float32Array {
  const fr = Math.fround;
  const out = x.slice();
  terms.forEach((t, i) => {
    const kx = fr(i === 0 ? w : 1);
    for (let j = 0; j < out.length; j++) out[j] = fr(fr(out[j]! * kx) + fr(t.values[j]! * fr(t.weight)));
  });
  return out;
}

describe('scaleAddInPlace', () => {
  // Whole groups of four, a tail of 1–3 beyond them, fewer than four, and one element.
  it.each([[[4, 8]], [[3, 5]], [[2]], [[1]], [[7, 3, 3]]])(
    'sums shared-memory terms into a tensor of shape %j in place, in float32 and in term order, leaving no buffer',
    (shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x0 = randomArray(size, 1);
      const shared = new Float32Array(new SharedArrayBuffer(3 * size * 4));
      shared.set(randomArray(size, 2), 0);
      shared.set(randomArray(size, 3), size);
      shared.set(randomArray(size, 4, 1e-3), 2 * size);
      const terms = [0, 1, 2].map((r) => ({
        values: shared.subarray(r * size, (r + 1) * size),
        weight: [0.3, 0.5, 0.2][r]!,
      }));
      const x = tf.tensor(x0, shape);
      const buffers = wasmDataIds();
      const dataId = x.dataId;
      expect(scaleAddInPlace(x, 0.25, terms)).toBe(true);
      expect(x.dataId).toBe(dataId);
      expect(wasmDataIds()).toBe(buffers);
      expect(Array.from(x.dataSync())).toEqual(Array.from(reference(x0, 0.25, terms)));
      // Two halves of a batch: each half's mean gradient weighted ½, the whole batch's mean, exact in float32.
      const y = tf.tensor(x0, shape);
      expect(scaleAddInPlace(y, 0.5, [{ values: terms[0]!.values, weight: 0.5 }])).toBe(true);
      const want = x0.map((v, j) => Math.fround(v / 2 + terms[0]!.values[j]! / 2));
      expect(Array.from(y.dataSync())).toEqual(Array.from(want));
      tf.dispose([x, y]);
    },
  );

  it('changes nothing and says so where it cannot work in place: a shared buffer, an int32 tensor, the cpu backend', async () => {
    const values = Float32Array.of(1, 2, 3, 4, 5, 6);
    const x = tf.tensor([1, 1, 1, 1, 1, 1], [2, 3]);
    const view = tf.reshape(x, [6]); // shares x's buffer on wasm
    expect(scaleAddInPlace(x, 2, [{ values, weight: 1 }])).toBe(false);
    expect(writeInPlace(view, values)).toBe(false);
    expect(Array.from(view.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    const ints = tf.tensor([1, 2, 3, 4, 5, 6], [6], 'int32');
    expect(scaleAddInPlace(ints, 2, [{ values, weight: 1 }])).toBe(false);
    expect(Array.from(ints.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([x, view, ints]);
    await tf.setBackend('cpu');
    const onCpu = tf.tensor([1, 1, 1, 1, 1, 1], [6]);
    expect(scaleAddInPlace(onCpu, 2, [{ values, weight: 1 }])).toBe(false);
    expect(writeInPlace(onCpu, values)).toBe(false);
    expect(Array.from(onCpu.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    onCpu.dispose();
    await tf.setBackend('wasm');
  });

  it('rejects terms of another size and an empty list, naming the sizes', () => {
    const x = tf.zeros([2, 3]);
    expect(() => scaleAddInPlace(x, 1, [{ values: new Float32Array(5), weight: 1 }])).toThrow(
      'scaleAddInPlace: a term has 5 values, the target 6 (shape [2,3])',
    );
    expect(() => scaleAddInPlace(x, 1, [])).toThrow('scaleAddInPlace: no term to add');
    expect(() => writeInPlace(x, new Float32Array(7))).toThrow(
      'writeInPlace: 7 values for a target of 6 (shape [2,3])',
    );
    x.dispose();
  });

  it('leaves no stale packed weights: a Dense layer predicts with the values written or summed in place', () => {
    // XNNPACK caches a Dense layer's packed weights by the weight tensor's id: an in-place change must drop them.
    const dense = () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ units: 5, inputShape: [8], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
    const model = dense();
    const copy = dense();
    const x = tf.tensor2d(randomArray(4 * 8, 7), [4, 8]);
    const kernel = model.weights[0]!.read();
    const check = () => {
      const values = model.getWeights().map((w) => tf.tensor(w.dataSync() as Float32Array, w.shape));
      copy.setWeights(values);
      const [got, want] = [model, copy].map((m) => m.predict(x) as tf.Tensor);
      expect(Array.from(got!.dataSync())).toEqual(Array.from(want!.dataSync()));
      tf.dispose([got!, want!, ...values]);
    };
    (model.predict(x) as tf.Tensor).dispose(); // packs the weights
    expect(writeInPlace(kernel, randomArray(8 * 5, 11))).toBe(true);
    check();
    expect(scaleAddInPlace(kernel, 0.5, [{ values: randomArray(8 * 5, 12), weight: 2 }])).toBe(true);
    check();
    x.dispose();
    [model, copy].forEach((m) => m.dispose());
  });
});
