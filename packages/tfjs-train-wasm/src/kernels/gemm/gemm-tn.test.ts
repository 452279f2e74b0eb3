import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray, relativeError } from '../../testing/compare.js';
import { encodeGemmNN, encodeGemmTN } from './gemm-tn.js';
import type { WasmBackend } from '../kernel-utils.js';
import { instantiate } from '../../wasm/index.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

// A is [K, M] for the TN kernel, [M, K] for the NN one; B is [K, N] for both.
const layouts = [
  {
    name: 'encodeGemmTN (OUT += Aᵀ·B)',
    encode: encodeGemmTN,
    at: (r: number, i: number, k: number, m: number) => r * m + i,
    aShape: (k: number, m: number) => [k, m],
  },
  {
    name: 'encodeGemmNN (OUT += A·B)',
    encode: encodeGemmNN,
    at: (r: number, i: number, k: number) => i * k + r,
    aShape: (k: number, m: number) => [m, k],
  },
] as const;

describe.each(layouts)('$name', ({ encode, at, aShape }) => {
  // K below, at and across the 64-row blocks; N with an odd number of v128 columns; one and several 4-row blocks of M.
  it.each([
    [5, 4, 4],
    [64, 8, 12],
    [130, 12, 20],
    [200, 4, 8],
    [1280, 16, 8],
  ])('K=%i M=%i N=%i matches a float64 reference, accumulating into OUT', (k, m, n) => {
    const backend = tf.backend() as unknown as WasmBackend;
    const av = randomArray(k * m, 1);
    const bv = randomArray(k * n, 2);
    const initial = randomArray(m * n, 3);
    const a = tf.tensor(av, aShape(k, m));
    const b = tf.tensor(bv, [k, n]);
    const out = tf.tensor(initial, [m, n]);
    const run = instantiate(encode(k, m, n), backend.wasm.asm.memory);
    run(...[a, b, out].map((t) => backend.getMemoryOffset(t.dataId)));
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = initial[i * n + j] as number;
        for (let r = 0; r < k; r++) sum += (av[at(r, i, k, m)] as number) * (bv[r * n + j] as number);
        want[i * n + j] = sum;
      }
    }
    expect(relativeError(out.dataSync() as Float32Array, want)).toBeLessThan(1e-5);
    tf.dispose([a, b, out]);
  });

  it('refuses dimensions that are not multiples of 4', () => {
    expect(() => encode(8, 6, 8)).toThrow(/M and N must be multiples of 4/);
    expect(() => encode(8, 8, 6)).toThrow(/M and N must be multiples of 4/);
  });
});
