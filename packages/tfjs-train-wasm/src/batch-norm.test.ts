import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray } from './testing/compare.js';
import { registerWasmTrainingKernels } from './kernels/register.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

describe('BatchNorm training as one op', () => {
  it('computes batch statistics over many rows to float32 precision (blocked sums, shifted data)', async () => {
    await tf.setBackend('wasm');
    // 73,728 rows of 8 channels, mean 3 and spread 0.5: a plain float32 running sum drifts by ~1e-4 here.
    const rows = 73_728;
    const c = 8;
    const xv = randomArray(rows * c, 77).map((v) => 3 + v * 0.5);
    const x = tf.tensor2d(xv, [rows, c]);
    const [mean, variance] = tf.engine().runKernel('FersweepBatchNormStats', { x }, {}) as [tf.Tensor, tf.Tensor];
    const [m, v] = [mean.dataSync(), variance.dataSync()];
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += xv[i * c + j] as number;
      const mu = sum / rows;
      let sq = 0;
      for (let i = 0; i < rows; i++) sq += ((xv[i * c + j] as number) - mu) ** 2;
      expect(Math.abs((m[j] as number) - mu)).toBeLessThan(1e-6 * 3);
      expect(Math.abs((v[j] as number) - sq / rows) / (sq / rows)).toBeLessThan(1e-5);
    }
    tf.dispose([x, mean, variance]);
  });
});
