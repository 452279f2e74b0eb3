import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectExactOnBothBackends, randomArray } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { collapseTranspose } from './transpose.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

describe('collapseTranspose', () => {
  it.each([
    // [shape, perm] → [collapsed shape, collapsed perm]
    [
      [1, 2304, 64],
      [0, 2, 1],
      [2304, 64],
      [1, 0],
    ],
    [
      [3, 3, 16, 32],
      [0, 1, 3, 2],
      [9, 16, 32],
      [0, 2, 1],
    ],
    [
      [320, 1280],
      [1, 0],
      [320, 1280],
      [1, 0],
    ],
    [[2, 3, 4], [0, 1, 2], [24], [0]],
    [
      [32, 24, 24, 96],
      [1, 2, 0, 3],
      [32, 576, 96],
      [1, 0, 2],
    ],
    [
      [2, 1, 5],
      [2, 1, 0],
      [2, 5],
      [1, 0],
    ],
    [[1, 1], [1, 0], [], []],
  ])('%j by %j is %j by %j', (shape, perm, want, wantPerm) => {
    expect(collapseTranspose(shape, perm)).toEqual({ shape: want, perm: wantPerm });
  });
});

describe('Transpose on wasm', () => {
  // The SIMD 4 × 4 blocks: one block, several blocks each way (rows and columns unequal, so a swapped stride shows),
  // batched, and a 4-D filter transpose that collapses to a batched one.
  const blocked: [number[], number[]][] = [
    [
      [4, 4],
      [1, 0],
    ],
    [
      [8, 12],
      [1, 0],
    ],
    [
      [1280, 320],
      [1, 0],
    ],
    [
      [1, 16, 20],
      [0, 2, 1],
    ],
    [
      [3, 8, 4],
      [0, 2, 1],
    ],
    [
      [3, 3, 8, 12],
      [0, 1, 3, 2],
    ],
  ];
  // The stock kernel: a side not a multiple of 4, a rotation of three axes, no data.
  const stock: [number[], number[]][] = [
    [
      [4, 6],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [0, 4],
      [1, 0],
    ],
  ];
  it.each([...blocked, ...stock])(
    '%j by %j matches the cpu backend exactly, leaving no buffer behind',
    async (shape, perm) => {
      const size = shape.reduce((a, b) => a * b, 1);
      await expectExactOnBothBackends(() => tf.transpose(tf.tensor(randomArray(size, 7), shape), perm));
    },
  );

  it('leaves int32 to the stock kernel', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [4, 4], 'int32');
    const t = tf.transpose(x);
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 4, 8, 12, 16]);
    tf.dispose([x, t]);
  });
});
