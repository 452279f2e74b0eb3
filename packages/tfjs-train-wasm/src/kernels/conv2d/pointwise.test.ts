import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectSameOnBothBackends, randomArray } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { pointwiseGemmApplies } from './pointwise.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

const geometry = (shape: [number, number, number, number], filter: [number, number, number, number], stride = 1) =>
  tf.backend_util.computeConv2DInfo(shape, filter, stride, 1, 'same');

describe('pointwise convolution as an unpacked GEMM on wasm', () => {
  // 2×2 and 3×3 images (MobileNetV2's last blocks at 48 px), a large-rows case, and uneven channel counts.
  const cases = [
    { n: 4, h: 2, w: 2, ci: 160, co: 320 },
    { n: 4, h: 3, w: 3, ci: 96, co: 24 },
    { n: 2, h: 24, w: 24, ci: 8, co: 16 },
    { n: 1, h: 2, w: 2, ci: 6, co: 12 },
  ];
  it.each(cases.map((c) => [`${c.n}×${c.h}×${c.w}, ${c.ci}→${c.co}`, c] as const))(
    'Conv2D, FusedConv2D (bias, ReLU6) and both gradients match cpu: %s',
    async (_, c) => {
      expect(pointwiseGemmApplies(geometry([c.n, c.h, c.w, c.ci], [1, 1, c.ci, c.co]))).toBe(true);
      const xv = randomArray(c.n * c.h * c.w * c.ci, 31);
      const fv = randomArray(c.ci * c.co, 32);
      const bv = randomArray(c.co, 33, 0.5);
      await expectSameOnBothBackends(() => {
        const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]);
        const f = tf.mul(tf.tensor4d(fv, [1, 1, c.ci, c.co]), 4) as tf.Tensor4D; // some outputs clip at 6
        const y = tf.conv2d(x, f, 1, 'same');
        const fusedOut = tf.fused.conv2d({
          x,
          filter: f,
          strides: 1,
          pad: 'same',
          bias: tf.tensor1d(bv),
          activation: 'relu6',
        });
        const g = tf.tensor(randomArray(y.size, 34), y.shape);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), g)),
        );
        return [y, fusedOut, ...grads([x, f])];
      }, 1e-4);
    },
  );

  it('leaves the rest to the other kernels', () => {
    expect(pointwiseGemmApplies(geometry([1, 3, 3, 16], [1, 1, 16, 16]))).toBe(false); // 9 rows
    expect(pointwiseGemmApplies(geometry([4, 2, 2, 16], [1, 1, 16, 18]))).toBe(false); // 18 output channels
    expect(pointwiseGemmApplies(geometry([4, 4, 4, 16], [1, 1, 16, 16], 2))).toBe(false); // stride 2
    expect(pointwiseGemmApplies(geometry([4, 4, 4, 16], [3, 3, 16, 16]))).toBe(false); // 3×3
  });
});
