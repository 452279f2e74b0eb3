import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectSameOnBothBackends as expectSameWithin, randomArray } from '../testing/compare.js';
import { registerWasmTrainingKernels } from './register.js';

const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

const expectSameOnBothBackends = (f: () => tf.Tensor | tf.Tensor[]): Promise<void> => expectSameWithin(f, TOL);

type Pad = 'same' | 'valid';
interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: 1 | 2;
  pad: Pad;
}

const convCases: ConvCase[] = [
  { n: 2, h: 9, w: 7, ci: 3, co: 5, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 9, w: 8, ci: 4, co: 6, k: 3, s: 1, pad: 'valid' },
  { n: 2, h: 10, w: 10, ci: 3, co: 4, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 11, ci: 5, co: 3, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 8, ci: 2, co: 4, k: 3, s: 2, pad: 'valid' },
  { n: 4, h: 6, w: 5, ci: 8, co: 16, k: 1, s: 1, pad: 'same' },
  { n: 1, h: 7, w: 7, ci: 6, co: 2, k: 1, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: 5, s: 1, pad: 'same' },
  { n: 5, h: 12, w: 12, ci: 16, co: 8, k: 3, s: 1, pad: 'same' },
  // Few input channels, 16·k filters: the SIMD filter-gradient loop (MobileNetV2's stride-2 RGB stem).
  { n: 2, h: 10, w: 9, ci: 3, co: 16, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 9, ci: 1, co: 32, k: 3, s: 2, pad: 'valid' },
];

const label = (c: ConvCase): string => `N${c.n} ${c.h}x${c.w} ${c.ci}->${c.co} k${c.k} s${c.s} ${c.pad}`;

describe('Conv2D gradients on wasm match cpu', () => {
  it.each(convCases.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const xv = randomArray(c.n * c.h * c.w * c.ci, 1);
    const fv = randomArray(c.k * c.k * c.ci * c.co, 2);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
      const f = tf.tensor4d(fv, [c.k, c.k, c.ci, c.co]);
      const y = tf.conv2d(x, f, c.s, c.pad);
      const g = tf.tensor(randomArray(y.size, 3), y.shape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g)),
      );
      return grads([x, f]);
    });
  });
});

describe('DepthwiseConv2dNative gradients on wasm match cpu', () => {
  it.each(convCases.map((c) => [label({ ...c, co: c.ci }), c] as const))('%s', async (_, c) => {
    const xv = randomArray(c.n * c.h * c.w * c.ci, 4);
    const fv = randomArray(c.k * c.k * c.ci, 5);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
      const f = tf.tensor4d(fv, [c.k, c.k, c.ci, 1]);
      const y = tf.depthwiseConv2d(x, f, c.s, c.pad);
      const g = tf.tensor(randomArray(y.size, 6), y.shape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), g)),
      );
      return grads([x, f]);
    });
  });
});

describe('MaxPoolGrad on wasm', () => {
  it('routes the gradient of an all-negative window to its maximum', async () => {
    await tf.setBackend('wasm');
    const dx = tf.tidy(() => {
      const x = tf.tensor4d([-4, -3, -2, -1, -8, -7, -6, -5, -1, -2, -3, -4, -5, -6, -7, -8], [1, 4, 4, 1]);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(x);
    });
    // Window maxima: −3 (index 1), −1 (3), −1 (8), −3 (10).
    expect(Array.from(dx.dataSync())).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    expect(dx.sum().dataSync()[0]).toBe(4);
    dx.dispose();
  });

  const poolCases: [string, number[], number, number, Pad, number][] = [
    ['2x2/2 valid, negative inputs', [2, 8, 8, 3], 2, 2, 'valid', -1],
    ['2x2/2 same, odd size', [2, 7, 9, 4], 2, 2, 'same', -0.5],
    ['3x3/2 same (overlapping)', [3, 9, 9, 2], 3, 2, 'same', 0],
    ['3x3/1 valid', [1, 6, 7, 5], 3, 1, 'valid', -2],
    ['2x2/2 valid, 8 channels (SIMD path for tiling windows)', [2, 8, 6, 8], 2, 2, 'valid', -1],
    ['3x3/3 valid, 4 channels (SIMD path)', [1, 9, 6, 4], 3, 3, 'valid', -0.5],
  ];
  it.each(poolCases)('matches cpu: %s', async (_, shape, size, stride, pad, offset) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = randomArray(n, 7, offset);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, shape as [number, number, number, number]);
      const y = tf.maxPool(x, size, stride, pad);
      const g = tf.tensor(randomArray(y.size, 8), y.shape);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), g)))(x);
    });
  });
});

describe('MaxPoolGrad ties on wasm', () => {
  it('gives a window whose maximum repeats the whole gradient at its first maximum, like cpu (SIMD path)', async () => {
    // Values in {-1, 0, 1}: most 2×2 windows hold their maximum more than once.
    const xv = randomArray(2 * 6 * 8 * 4, 18).map((v) => Math.round(v));
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [2, 6, 8, 4]);
      const y = tf.maxPool(x, 2, 2, 'valid');
      const g = tf.tensor(randomArray(y.size, 19), y.shape);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), g)))(x);
    });
  });
});

describe('BatchMatMul with transposes on wasm matches cpu', () => {
  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('transposeA=%s transposeB=%s, values and gradients', async (ta, tb) => {
    const av = randomArray(3 * 7 * 5, 9);
    const bv = randomArray(3 * 5 * 4, 10);
    await expectSameOnBothBackends(() => {
      const a = tf.tensor3d(av, ta ? [3, 5, 7] : [3, 7, 5]);
      const b = tf.tensor3d(bv, tb ? [3, 4, 5] : [3, 5, 4]);
      const y = tf.matMul(a, b, ta, tb);
      const g = tf.tensor(randomArray(y.size, 11), y.shape);
      const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, ta, tb), g)))([a, b]);
      return [y, ga as tf.Tensor, gb as tf.Tensor];
    });
  });
});

describe('FusedBatchNorm gradient', () => {
  it.each([
    ['rank-1 statistics', [4, 5, 6, 3], [3]],
    ['full-shape statistics', [2, 3, 3, 2], [2, 3, 3, 2]],
  ])('matches cpu with %s', async (_, xShape, statShape) => {
    const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
    const xv = randomArray(size(xShape), 12, 0.5);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor(xv, xShape);
      const mean = tf.tensor(randomArray(size(statShape), 13), statShape);
      const variance = tf.tensor(randomArray(size(statShape), 14, 1.5), statShape);
      const offset = tf.tensor(randomArray(size(statShape), 15), statShape);
      const scale = tf.tensor(randomArray(size(statShape), 16), statShape);
      const g = tf.tensor(randomArray(size(xShape), 17), xShape);
      return tf.grads((a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, sc: tf.Tensor) =>
        tf.sum(tf.mul(tf.batchNorm(a, m, v, o, sc, 1e-3), g)),
      )([x, mean, variance, offset, scale]);
    });
  });

  it('matches cpu through moments (as tfjs-layers trains it)', async () => {
    const xv = randomArray(6 * 4 * 4 * 5, 18, 0.3);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [6, 4, 4, 5]);
      const g = tf.tensor4d(randomArray(x.size, 19), x.shape);
      const gamma = tf.tensor1d(randomArray(5, 20, 1));
      const beta = tf.tensor1d(randomArray(5, 21));
      // An offset is given: tfjs 4.22's tape crashes on batchNorm without one ("reading 'id'"), on any backend.
      return tf.grads((a: tf.Tensor, sc: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, o, sc, 1e-3), g));
      })([x, gamma, beta]);
    });
  });
});

describe('Sum and Mean over leading axes on wasm match cpu', () => {
  it.each([
    ['NHWC → C (BatchNorm statistics)', [7, 5, 3, 8], [0, 1, 2]],
    ['odd channel count', [4, 3, 3, 5], [0, 1, 2]],
    ['many rows (several float32 blocks)', [3000, 12], [0]],
    ['leading two of four', [3, 4, 2, 4], [0, 1]],
    ['inner axes (stock path)', [3, 4, 5, 6], [1, 2]],
  ])('%s', async (_, shape, axes) => {
    const xv = randomArray(
      shape.reduce((a, b) => a * b, 1),
      40,
      0.7,
    );
    await expectSameOnBothBackends(() => {
      const x = tf.tensor(xv, shape);
      return [tf.sum(x, axes), tf.mean(x, axes), tf.sum(x, axes, true), tf.mean(x, axes, true)];
    });
  });
});

describe('ReLU and ReLU6 gradients on wasm match cpu', () => {
  it.each([
    ['a multiple of 4 elements', [2, 5, 5, 8]],
    ['a ragged tail', [3, 7]],
  ])('with %s, values at the clip bounds included', async (_, shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const xv = randomArray(size, 41).map((v) => v * 8); // spans below 0 and above 6
    xv[0] = 0;
    xv[1] = 6;
    await expectSameOnBothBackends(() => {
      const x = tf.tensor(xv, shape);
      const g = tf.tensor(randomArray(size, 42), shape);
      const relu6 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(a, 0, 6), g)))(x);
      const relu = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), g)))(x);
      const both = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(tf.relu(a), 0, 6), g)))(x);
      // The Relu6 op (adaptLayers' ReLU(maxValue 6)): the same gradient as relu-then-clip, 0 < x ≤ 6.
      const op = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu6(a), g)))(x);
      return [relu6, relu, both, op];
    });
  });
});
