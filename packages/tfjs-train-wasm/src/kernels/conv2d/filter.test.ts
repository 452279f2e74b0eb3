import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray, relativeError, runOn, wasmDataIds, withKernel } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { conv2DFilterStrategies } from '../../strategies.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

// [N, H, W, CI, CO, k (or [kh, kw]), pad]: stride 1 only (the GEMM strategies' domain); single channel in,
// non-square images and filters, 'valid', a 5×5, and sizes at and above the registered kernel's 12 px switch;
// one input channel with 16·k filters (the C1 loop) and a Winograd-sized layer (the 'auto' strategy).
const cases: [number, number, number, number, number, number | [number, number], 'same' | 'valid'][] = [
  [2, 9, 7, 3, 5, 3, 'same'],
  [3, 9, 8, 4, 6, 3, 'valid'],
  [2, 8, 8, 3, 4, 5, 'same'],
  [2, 7, 9, 1, 8, 3, 'same'],
  [2, 6, 7, 4, 4, [1, 3], 'same'],
  [3, 12, 12, 16, 8, 3, 'same'],
  [2, 13, 14, 8, 12, [3, 2], 'valid'],
  [2, 16, 16, 1, 16, 3, 'same'],
  [2, 7, 9, 1, 32, [3, 2], 'valid'],
  [3, 10, 8, 1, 16, 5, 'same'],
  [2, 8, 12, 16, 16, 3, 'same'],
];

describe.each(Object.keys(conv2DFilterStrategies))('Conv2DBackpropFilter strategy %s matches cpu', (name) => {
  const fn = conv2DFilterStrategies[name] as tf.KernelFunc;
  it.each(cases.map((c) => [c.join(' '), c] as const))('N H W CI CO k pad = %s', async (_, c) => {
    const [n, h, w, ci, co, k, pad] = c;
    const [kh, kw] = typeof k === 'number' ? [k, k] : k;
    const xv = randomArray(n * h * w * ci, 41);
    const fv = randomArray(kh * kw * ci * co, 42);
    const f = (): tf.Tensor => {
      const x = tf.tensor4d(xv, [n, h, w, ci]);
      const filter = tf.tensor4d(fv, [kh, kw, ci, co]);
      const y = tf.conv2d(x, filter, 1, pad);
      const g = tf.tensor(randomArray(y.size, 43), y.shape);
      return tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, b as tf.Tensor4D, 1, pad), g)))(filter);
    };
    const [expected] = await runOn('cpu', f);
    const buffers = wasmDataIds();
    const tensors = tf.memory().numTensors;
    const [actual] = await withKernel('Conv2DBackpropFilter', fn, () => runOn('wasm', f));
    expect(wasmDataIds()).toBe(buffers);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(relativeError(actual as Float32Array, expected as Float32Array)).toBeLessThan(1e-4);
  });
});
