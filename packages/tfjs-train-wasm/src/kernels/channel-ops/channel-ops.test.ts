import { beforeAll, describe, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectSameOnBothBackends as expectSameWithin, randomArray } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

const expectSameOnBothBackends = (f: () => tf.Tensor | tf.Tensor[]): Promise<void> => expectSameWithin(f, 1e-6);

const FULL = [3, 5, 4, 8];
const shapes: [string, number[]][] = [
  ['[C]', [8]],
  ['[1,1,1,C]', [1, 1, 1, 8]],
  ['[1,C]', [1, 8]],
  ['scalar', []],
  ['[N,1,1,C] (stock)', [3, 1, 1, 8]],
  ['same shape (stock)', FULL],
];
const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['mul', tf.mul],
  ['add', tf.add],
  ['sub', tf.sub],
  ['div', tf.div],
];

describe('per-channel binary kernels on wasm match cpu', () => {
  for (const [opName, f] of ops) {
    it.each(shapes)(`${opName} full ∘ %s and its mirror`, async (_, vecShape) => {
      const av = randomArray(
        FULL.reduce((x, y) => x * y, 1),
        11,
      );
      const bv = randomArray(
        vecShape.reduce((x, y) => x * y, 1),
        12,
        2,
      ); // in [1, 3): safe divisor
      await expectSameOnBothBackends(() => {
        const a = tf.tensor(av, FULL);
        const b = tf.tensor(bv, vecShape);
        return [f(a, b), f(b, a)];
      });
    });
  }

  it('falls back where channels are not a multiple of 4', async () => {
    await expectSameOnBothBackends(() => {
      const a = tf.tensor(randomArray(2 * 7 * 6, 3), [2, 7, 6]);
      const b = tf.tensor(randomArray(6, 4, 2), [6]);
      return [tf.mul(a, b), tf.sub(b, a), tf.div(a, b)];
    });
  });
});

describe('FusedBatchNorm on wasm matches cpu', () => {
  const x = randomArray(4 * 3 * 5 * 12, 21);
  const m = randomArray(12, 22);
  const v = randomArray(12, 23, 2);
  const g = randomArray(12, 24, 1);
  const o = randomArray(12, 25);
  it.each([
    ['scale and offset', true, true],
    ['no scale', false, true],
    ['no offset', true, false],
  ])('%s', async (_, withScale, withOffset) => {
    await expectSameOnBothBackends(() =>
      tf.batchNorm(
        tf.tensor4d(x, [4, 3, 5, 12]),
        tf.tensor1d(m),
        tf.tensor1d(v),
        withOffset ? tf.tensor1d(o) : undefined,
        withScale ? tf.tensor1d(g) : undefined,
        1e-3,
      ),
    );
  });

  it('falls back for odd channel counts and full-shape statistics', async () => {
    await expectSameOnBothBackends(() => {
      const x3 = tf.tensor(randomArray(2 * 3 * 5, 5), [2, 3, 5]);
      const stat = tf.tensor(randomArray(5, 6, 2), [5]);
      const x4 = tf.tensor(randomArray(2 * 8, 7), [2, 8]);
      const full = tf.tensor(randomArray(16, 8, 2), [2, 8]);
      return [tf.batchNorm(x3, stat, stat, stat, stat), tf.batchNorm(x4, full, full)];
    });
  });
});
