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

describe('encodeGemmTN (OUT += Aᵀ·B)', () => {
  // K below, at and across the 64-row blocks; N with an odd number of v128 columns; M = 4.
  it.each([
    [5, 4, 4],
    [64, 8, 12],
    [130, 12, 20],
    [200, 4, 8],
  ])('K=%i M=%i N=%i matches a float64 reference, accumulating into OUT', (k, m, n) => {
    const backend = tf.backend() as unknown as WasmBackend;
    const av = randomArray(k * m, 1);
    const bv = randomArray(k * n, 2);
    const initial = randomArray(m * n, 3);
    const a = tf.tensor(av, [k, m]);
    const b = tf.tensor(bv, [k, n]);
    const out = tf.tensor(initial, [m, n]);
    const run = instantiate(encodeGemmTN(k, m, n), backend.wasm.asm.memory);
    run(...[a, b, out].map((t) => backend.getMemoryOffset(t.dataId)));
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = initial[i * n + j] as number;
        for (let r = 0; r < k; r++) sum += (av[r * m + i] as number) * (bv[r * n + j] as number);
        want[i * n + j] = sum;
      }
    }
    expect(relativeError(out.dataSync() as Float32Array, want)).toBeLessThan(1e-5);
    tf.dispose([a, b, out]);
  });

  it('refuses dimensions that are not multiples of 4', () => {
    expect(() => encodeGemmTN(8, 6, 8)).toThrow(/multiples of 4/);
  });
});

describe('encodeGemmNN (OUT += A·B)', () => {
  // K below, at and across the 64-row blocks; N with an odd number of v128 columns; several 4-row blocks of M.
  it.each([
    [5, 4, 4],
    [64, 8, 12],
    [130, 12, 20],
    [1280, 16, 8],
  ])('K=%i M=%i N=%i matches a float64 reference, accumulating into OUT', (k, m, n) => {
    const backend = tf.backend() as unknown as WasmBackend;
    const av = randomArray(m * k, 4);
    const bv = randomArray(k * n, 5);
    const initial = randomArray(m * n, 6);
    const a = tf.tensor(av, [m, k]);
    const b = tf.tensor(bv, [k, n]);
    const out = tf.tensor(initial, [m, n]);
    const run = instantiate(encodeGemmNN(k, m, n), backend.wasm.asm.memory);
    run(...[a, b, out].map((t) => backend.getMemoryOffset(t.dataId)));
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = initial[i * n + j] as number;
        for (let r = 0; r < k; r++) sum += (av[i * k + r] as number) * (bv[r * n + j] as number);
        want[i * n + j] = sum;
      }
    }
    expect(relativeError(out.dataSync() as Float32Array, want)).toBeLessThan(1e-5);
    tf.dispose([a, b, out]);
  });

  it('refuses dimensions that are not multiples of 4', () => {
    expect(() => encodeGemmNN(8, 8, 6)).toThrow(/gemm-nn: M and N must be multiples of 4/);
  });
});
