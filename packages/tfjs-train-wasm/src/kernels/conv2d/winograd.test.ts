import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectSameOnBothBackends as expectSameWithin, randomArray } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { winogradTuning } from './winograd.js';
import { winogradApplies } from './winograd-variants.js';

// F(4,3)'s transforms carry constants up to 8 and 1/24: its rounding error is a few times F(2,3)'s.
const TOL = 2e-4;
const defaultChunk = winogradTuning.chunkBytes;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

const expectSameOnBothBackends = (f: () => tf.Tensor | tf.Tensor[]): Promise<void> => expectSameWithin(f, TOL);

afterEach(() => {
  winogradTuning.chunkBytes = defaultChunk;
});

interface Case {
  name: string;
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  /** Plane-set budget in bytes; small values force several image chunks. */
  chunkBytes?: number;
}

// Tile counts: 18, 30, 9, 18 and 9 (the GEMM's rows rounded up to a multiple of 4), and 16 (no rounding).
const cases: Case[] = [
  { name: 'F(4,3), 8x12, 16->20', n: 3, h: 8, w: 12, ci: 16, co: 20 },
  { name: 'F(4,3), 8x8, 16->20 (tiles a multiple of 4)', n: 4, h: 8, w: 8, ci: 16, co: 20 },
  { name: 'F(2,3), 6x10 (not a multiple of 4), 16->16', n: 2, h: 6, w: 10, ci: 16, co: 16 },
  { name: 'F(4,3), 12x12, 24->16, one image per chunk', n: 3, h: 12, w: 12, ci: 24, co: 16, chunkBytes: 1 },
  {
    name: 'F(2,3), 6x6, 32->16, two images per chunk (uneven last chunk)',
    n: 5,
    h: 6,
    w: 6,
    ci: 32,
    co: 16,
    chunkBytes: 2 * 9 * 16 * 32 * 4,
  },
];

/** The geometry tfjs computes for a 3×3 stride-1 'same' conv: the tests must exercise the Winograd path. */
function infoOf(c: Case): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [3, 3, c.ci, c.co], 1, 1, 'same');
}

describe('Winograd 3x3 convolution on wasm matches cpu', () => {
  it.each(cases.map((c) => [c.name, c] as const))('forward and both gradients: %s', async (_, c) => {
    expect(winogradApplies(infoOf(c))).toBe(true);
    // The input gradient runs as a conv of dy (co channels) with the flipped filter: Winograd too.
    expect(winogradApplies(infoOf({ ...c, ci: c.co, co: c.ci }))).toBe(true);
    if (c.chunkBytes !== undefined) winogradTuning.chunkBytes = c.chunkBytes;
    const xv = randomArray(c.n * c.h * c.w * c.ci, 11);
    const fv = randomArray(9 * c.ci * c.co, 12);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
      const f = tf.tensor4d(fv, [3, 3, c.ci, c.co]);
      const y = tf.conv2d(x, f, 1, 'same');
      const g = tf.tensor(randomArray(y.size, 13), y.shape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), g)),
      );
      return [y, ...grads([x, f])];
    });
  });

  const fused: ['linear' | 'relu' | 'relu6', boolean][] = [
    ['relu', true],
    ['relu6', true],
    ['linear', true],
    ['relu', false],
  ];
  it.each(fused)('FusedConv2D with activation %s (bias: %s) fuses the epilogue', async (activation, withBias) => {
    const c = cases[0] as Case;
    const xv = randomArray(c.n * c.h * c.w * c.ci, 21);
    const fv = randomArray(9 * c.ci * c.co, 22);
    const bv = randomArray(c.co, 23, 0.5);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
      // Scaled so that ReLU6 clips some outputs at 6 and ReLU zeroes others.
      const f = tf.mul(tf.tensor4d(fv, [3, 3, c.ci, c.co]), 2) as tf.Tensor4D;
      const bias = withBias ? tf.tensor1d(bv) : undefined;
      return tf.fused.conv2d({ x, filter: f, strides: 1, pad: 'same', ...(bias ? { bias } : {}), activation });
    });
  });

  it('leaves other convolutions to the stock kernels', () => {
    const geometry = (
      shape: [number, number, number, number],
      filter: [number, number, number, number],
      stride: number,
      pad: 'same' | 'valid',
    ) => tf.backend_util.computeConv2DInfo(shape, filter, stride, 1, pad);
    expect(winogradApplies(geometry([1, 8, 8, 16], [3, 3, 16, 16], 2, 'same'))).toBe(false); // stride 2
    expect(winogradApplies(geometry([1, 8, 8, 16], [3, 3, 16, 16], 1, 'valid'))).toBe(false); // no padding
    expect(winogradApplies(geometry([1, 8, 8, 16], [1, 1, 16, 16], 1, 'same'))).toBe(false); // pointwise
    expect(winogradApplies(geometry([1, 7, 8, 16], [3, 3, 16, 16], 1, 'same'))).toBe(false); // odd height
    expect(winogradApplies(geometry([1, 8, 8, 1], [3, 3, 1, 16], 1, 'same'))).toBe(false); // one input channel
    expect(winogradApplies(geometry([1, 8, 8, 18], [3, 3, 18, 16], 1, 'same'))).toBe(false); // channels % 4
  });
});
