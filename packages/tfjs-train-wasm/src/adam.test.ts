import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FusedAdamOptimizer } from './adam.js';
import { randomArray, relativeError } from './testing/compare.js';
import { registerWasmTrainingKernels } from './kernels/register.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

// Sizes with and without a tail beyond whole groups of four, and a scalar.
const shapes: number[][] = [[3, 3, 4, 8], [7], [], [5, 3]];

/** Three Adam steps on fresh variables with fixed gradients (the learning rate changes before the third). */
async function train(optimizer: tf.AdamOptimizer, backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const vars = shapes.map((s, i) =>
    tf.variable(
      tf.tensor(
        randomArray(
          Math.max(
            1,
            s.reduce((a, b) => a * b, 1),
          ),
          80 + i,
        ),
        s,
      ),
      true,
      `adam${i}`,
    ),
  );
  for (let step = 0; step < 3; step++) {
    if (step === 2) (optimizer as unknown as { learningRate: number }).learningRate = 0.003;
    const grads = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.tensor(randomArray(v.size, 90 + 10 * step + i, i === 1 ? 0.5 : 0), v.shape),
    }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const weights = await optimizer.getWeights();
  const out = [...vars, ...weights.map((w) => w.tensor)].map((t) => t.dataSync() as Float32Array);
  tf.dispose(vars);
  optimizer.dispose();
  return out;
}

describe('FusedAdamOptimizer', () => {
  it('steps exactly like tfjs-core Adam on wasm (one kernel per variable) and leaks nothing', async () => {
    // tfjs-core's Adam itself leaves a tensor or two behind after dispose(); the fused step must add none.
    let before = tf.memory().numTensors;
    const want = await train(tf.train.adam(0.01, 0.9, 0.999, 1e-7), 'wasm');
    const stockLeft = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    const got = await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'wasm');
    expect(tf.memory().numTensors - before).toBe(stockLeft);
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(relativeError(got[i] as Float32Array, w)).toBeLessThan(1e-6));
  });

  it('is tfjs-core Adam on other backends', async () => {
    const want = await train(tf.train.adam(0.01, 0.9, 0.999, 1e-7), 'cpu');
    const got = await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'cpu');
    want.forEach((w, i) => expect(relativeError(got[i] as Float32Array, w)).toBe(0));
    await tf.setBackend('wasm');
  });

  it('runs one kernel per variable and step on wasm', async () => {
    await tf.setBackend('wasm');
    const opt = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const v = tf.variable(tf.ones([10]), true, 'adamCount');
    const g = tf.fill([10], 0.5);
    opt.applyGradients([{ name: v.name, tensor: g }]); // creates the moments
    const profile = await tf.profile(() => opt.applyGradients([{ name: v.name, tensor: g }]));
    expect(profile.kernels.filter((k) => k.name === 'FersweepAdamUpdate')).toHaveLength(1);
    expect(profile.kernels.filter((k) => k.name === 'Sqrt' || k.name === 'RealDiv')).toHaveLength(0);
    tf.dispose([v, g]);
    opt.dispose();
  });
});
