import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectSameOnBothBackends, randomArray, relativeError } from '../testing/compare.js';
import { setWasmSimdMode, wasmSimdMode } from '../wasm/features.js';
import { instantiate } from '../wasm/module.js';
import { encodeGemmTN } from './gemm/gemm-tn.js';
import type { WasmBackend } from './kernel-utils.js';
import { registerWasmTrainingKernels } from './register.js';

/**
 * The generated GEMM, Winograd and convolution-gradient kernels in both instruction sets, against the cpu
 * backend. Tolerances are the SIMD128 ones: relaxed_madd may round once (fused) where mul + add rounds twice,
 * which changes each product-sum by about one float32 ulp of its terms — far below 1e-4 of the result's scale
 * for sums of a few hundred products, and below Winograd's own transform rounding (2e-4).
 */
const initial = wasmSimdMode();

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

afterAll(() => setWasmSimdMode(initial));

interface Case {
  label: string;
  n: number;
  hw: number;
  ci: number;
  co: number;
  k: number;
  s: 1 | 2;
  tol: number;
}

// Winograd F(4,3) and F(2,3) (forward and filter gradient), the few-channel stem loop, the pointwise TN GEMM.
const convCases: Case[] = [
  { label: 'Winograd F(4,3) 8 px 16→20', n: 2, hw: 8, ci: 16, co: 20, k: 3, s: 1, tol: 2e-4 },
  { label: 'Winograd F(2,3) 6 px 16→16', n: 3, hw: 6, ci: 16, co: 16, k: 3, s: 1, tol: 2e-4 },
  { label: 'stem 1→16 3×3/2 (filter-c1)', n: 2, hw: 12, ci: 1, co: 16, k: 3, s: 2, tol: 1e-4 },
  { label: 'pointwise 16→24 (gemm-tn)', n: 4, hw: 5, ci: 16, co: 24, k: 1, s: 1, tol: 1e-4 },
];

describe.each(['relaxed', 'simd128'] as const)('generated kernels with %s SIMD match cpu', (mode) => {
  beforeAll(() => setWasmSimdMode(mode));

  it.each(convCases.map((c) => [c.label, c] as const))('Conv2D and its gradients: %s', async (_, c) => {
    const xv = randomArray(c.n * c.hw * c.hw * c.ci, 11);
    const fv = randomArray(c.k * c.k * c.ci * c.co, 12);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [c.n, c.hw, c.hw, c.ci]);
      const f = tf.tensor4d(fv, [c.k, c.k, c.ci, c.co]);
      const y = tf.conv2d(x, f, c.s, 'same');
      const g = tf.tensor(randomArray(y.size, 13), y.shape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, 'same'), g)),
      );
      return [y, ...grads([x, f])];
    }, c.tol);
  });

  it.each([1, 2] as const)('depthwise 3×3 stride %i gradients (SIMD filter loop, stride-2 input kernel)', async (s) => {
    const [n, hw, c] = [2, 8, 12];
    const xv = randomArray(n * hw * hw * c, 14);
    const fv = randomArray(9 * c, 15);
    await expectSameOnBothBackends(() => {
      const x = tf.tensor4d(xv, [n, hw, hw, c]);
      const f = tf.tensor4d(fv, [3, 3, c, 1]);
      const y = tf.depthwiseConv2d(x, f, s, 'same');
      const g = tf.tensor(randomArray(y.size, 16), y.shape);
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, 'same'), g)),
      );
      return grads([x, f]);
    }, 1e-4);
  });

  it('the TN GEMM micro-kernel matches a float64 reference', () => {
    const [k, m, n] = [130, 12, 20];
    const backend = tf.backend() as unknown as WasmBackend;
    const av = randomArray(k * m, 17);
    const bv = randomArray(k * n, 18);
    const a = tf.tensor(av, [k, m]);
    const b = tf.tensor(bv, [k, n]);
    const out = tf.zeros([m, n]);
    instantiate(
      encodeGemmTN(k, m, n),
      backend.wasm.asm.memory,
    )(...[a, b, out].map((t) => backend.getMemoryOffset(t.dataId)));
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let r = 0; r < k; r++) sum += (av[r * m + i] as number) * (bv[r * n + j] as number);
        want[i * n + j] = sum;
      }
    expect(relativeError(out.dataSync() as Float32Array, want)).toBeLessThan(1e-5);
    tf.dispose([a, b, out]);
  });
});
