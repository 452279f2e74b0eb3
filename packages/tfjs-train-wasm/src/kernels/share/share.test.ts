import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectExactOnBothBackends, randomArray, wasmDataIds } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

describe('buffer-sharing Identity and Cast on wasm', () => {
  it('clone shares the buffer and outlives its source', () => {
    const before = wasmDataIds();
    const x = tf.tensor2d([1, -2, 3, 4.5, 5, 6], [2, 3]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(wasmDataIds()).toBe(before + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3, 4.5, 5, 6]);
    expect(y.shape).toEqual([2, 3]);
    z.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3, 4.5, 5, 6]);
    y.dispose();
    expect(wasmDataIds()).toBe(before);
  });

  it('casts between dtypes still convert', () => {
    const before = wasmDataIds();
    const x = tf.tensor1d([1.7, -2.2, 0, 0.5]);
    const i = tf.cast(x, 'int32');
    const b = tf.cast(x, 'bool');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 0, 0]);
    expect(Array.from(b.dataSync())).toEqual([1, 1, 0, 1]);
    const xi = tf.tensor1d([3, 0, -1], 'int32');
    const ib = tf.cast(xi, 'bool');
    expect(Array.from(ib.dataSync())).toEqual([1, 0, 1]);
    tf.dispose([x, i, b, xi, ib]);
    expect(wasmDataIds()).toBe(before);
  });

  it('gradients through clone and moments are unchanged', () => {
    const before = wasmDataIds();
    const x = tf.tensor2d([1, 2, 3, 4, 5, 7], [3, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.moments(tf.clone(t), 0).variance, tf.tensor1d([1, 2]))));
    const dx = g(x);
    // d var / dx_i = 2 (x_i − mean) / n, per column.
    const expected = [1, 2, 3, 4, 5, 7].map((v, k) => {
      const col = k % 2;
      const mean = col === 0 ? 3 : 13 / 3;
      return ((col === 0 ? 1 : 2) * 2 * (v - mean)) / 3;
    });
    Array.from(dx.dataSync()).forEach((v, k) => expect(v).toBeCloseTo(expected[k] as number, 5));
    tf.dispose([x, dx]);
    expect(wasmDataIds()).toBe(before);
  });
});

describe('Concat on wasm matches cpu', () => {
  it.each([
    ['last axis, inner 1 (gray→RGB)', [2, 3, 4, 1], [2, 3, 4, 1], -1],
    ['last axis, mixed widths', [2, 3, 20], [2, 3, 5], 2],
    ['middle axis', [2, 3, 4], [2, 6, 4], 1],
    ['first axis', [2, 3], [4, 3], 0],
  ] as const)('%s', async (_, sa, sb, axis) => {
    const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
    const av = randomArray(size(sa), 31);
    const bv = randomArray(size(sb), 32);
    const f = () => {
      const a = tf.tensor(av, [...sa]);
      const b = tf.tensor(bv, [...sb]);
      return [tf.concat([a, b, a], axis), tf.concat([tf.cast(a, 'int32'), tf.cast(a, 'int32')], axis)];
    };
    await expectExactOnBothBackends(f);
  });
});
