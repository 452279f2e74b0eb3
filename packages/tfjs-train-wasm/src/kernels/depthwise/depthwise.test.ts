import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray, relativeError, runOn, withKernel } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { depthwiseFilterStrategies, depthwiseInputStrategies } from '../../strategies.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

// Shapes of every strategy's paths: whole 4-channel blocks (SIMD) and not, stride 1/2, same/valid, odd sizes,
// padding that needs a bordered copy and padding that reads in place, batch > 1, a wide MobileNetV2 layer.
const cases: [number, number, number, number, 1 | 2, 'same' | 'valid', number][] = [
  [3, 9, 7, 8, 1, 'same', 3],
  [2, 10, 10, 12, 2, 'same', 3],
  [2, 9, 11, 16, 2, 'same', 3],
  [4, 9, 8, 4, 2, 'valid', 3],
  [2, 8, 9, 8, 1, 'valid', 3],
  [1, 7, 7, 6, 2, 'same', 3],
  [2, 6, 6, 8, 1, 'same', 5],
  [3, 4, 4, 96, 1, 'same', 3],
  [2, 3, 3, 960, 1, 'same', 3],
  [5, 12, 12, 20, 2, 'same', 3],
];

describe.each([
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseFilterStrategies, 'filter'],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseInputStrategies, 'x'],
] as const)('%s strategies match cpu', (kernelName, strategies, wrt) => {
  const all = Object.entries(strategies).flatMap(([name, fn]) => cases.map((c) => [name, c.join(' '), fn, c] as const));
  it.each(all)('%s on N H W C s pad k = %s', async (_, __, fn, [n, h, w, c, s, pad, k]) => {
    const xv = randomArray(n * h * w * c, 31);
    const fv = randomArray(k * k * c, 32);
    const f = (): tf.Tensor => {
      const x = tf.tensor4d(xv, [n, h, w, c]);
      const filter = tf.tensor4d(fv, [k, k, c, 1]);
      const y = tf.depthwiseConv2d(x, filter, s, pad);
      const g = tf.tensor(randomArray(y.size, 33), y.shape);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), g)),
      )([x, filter]);
      return (wrt === 'x' ? gx : gf) as tf.Tensor;
    };
    const [expected] = await runOn('cpu', f);
    const [actual] = await withKernel(kernelName, fn, () => runOn('wasm', f));
    expect(relativeError(actual as Float32Array, expected as Float32Array)).toBeLessThan(1e-4);
  });
});
