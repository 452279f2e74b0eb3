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

/**
 * Three Adam steps on fresh variables with fixed gradients (the learning rate changes before the third). With
 * `hold`, each variable's initial value stays alive beside it (sharing its buffer until the first step) and is
 * checked unchanged at the end.
 */
async function train(
  optimizer: tf.AdamOptimizer,
  backend: 'cpu' | 'wasm',
  hold = false,
): Promise<{ values: Float32Array[]; inPlace: boolean }> {
  await tf.setBackend(backend);
  const initial = shapes.map((s, i) => {
    const size = Math.max(
      1,
      s.reduce((a, b) => a * b, 1),
    );
    return tf.tensor(randomArray(size, 80 + i), s);
  });
  const copies = initial.map((t) => (t.dataSync() as Float32Array).slice());
  const vars = initial.map((t, i) => tf.variable(t, true, `adam${i}`));
  if (!hold) tf.dispose(initial);
  const buffers = vars.map((v) => v.dataId);
  for (let step = 0; step < 3; step++) {
    if (step === 2) (optimizer as unknown as { learningRate: number }).learningRate = 0.003;
    const grads = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.tensor(randomArray(v.size, 90 + 10 * step + i, i === 1 ? 0.5 : 0), v.shape),
    }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const inPlace = vars.every((v, i) => v.dataId === buffers[i]);
  if (hold) {
    initial.forEach((t, i) => expect(t.dataSync()).toEqual(copies[i]));
    tf.dispose(initial);
  }
  const weights = await optimizer.getWeights();
  const values = [...vars, ...weights.map((w) => w.tensor)].map((t) => t.dataSync() as Float32Array);
  tf.dispose(vars);
  optimizer.dispose();
  return { values, inPlace };
}

describe('FusedAdamOptimizer', () => {
  it('steps exactly like tfjs-core Adam on wasm (in place) and leaks nothing', async () => {
    // tfjs-core's Adam itself leaves a tensor or two behind after dispose(); the fused step must add none.
    let before = tf.memory().numTensors;
    const want = (await train(tf.train.adam(0.01, 0.9, 0.999, 1e-7), 'wasm')).values;
    const stockLeft = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    const fused = await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'wasm');
    const got = fused.values;
    expect(fused.inPlace).toBe(true);
    expect(tf.memory().numTensors - before).toBe(stockLeft);
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(relativeError(got[i] as Float32Array, w)).toBeLessThan(1e-6));
  });

  it('leaves a tensor that shares a variable’s buffer as it was, and steps the same into new buffers', async () => {
    const inPlace = await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'wasm');
    const shared = await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'wasm', true);
    expect(shared.inPlace).toBe(false);
    expect(shared.values).toEqual(inPlace.values);
  });

  it('updates in place without stale copies: a Dense layer predicts with its new weights after each step', async () => {
    await tf.setBackend('wasm');
    // XNNPACK caches a Dense layer's packed weights by the weight tensor's id: an in-place update must drop them.
    const dense = () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ units: 5, inputShape: [8], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
    const model = dense();
    model.compile({ optimizer: new FusedAdamOptimizer(0.05, 0.9, 0.999, 1e-7), loss: 'meanSquaredError' });
    const x = tf.tensor2d(randomArray(4 * 8, 7), [4, 8]);
    const y = tf.tensor2d(randomArray(4 * 5, 8), [4, 5]);
    const copy = dense();
    for (let step = 0; step < 3; step++) {
      (model.predict(x) as tf.Tensor).dispose(); // packs the weights
      const buffers = model.weights.map((w) => w.read().dataId);
      await model.trainOnBatch(x, y);
      expect(model.weights.map((w) => w.read().dataId)).toEqual(buffers); // in place
      const values = model.getWeights().map((w) => tf.tensor(w.dataSync() as Float32Array, w.shape));
      copy.setWeights(values);
      const [got, want] = [model, copy].map((m) => m.predict(x) as tf.Tensor);
      expect(got!.dataSync()).toEqual(want!.dataSync());
      tf.dispose([got!, want!, ...values]);
    }
    tf.dispose([x, y]);
    [model, copy].forEach((m) => m.dispose());
  });

  it('is tfjs-core Adam on other backends', async () => {
    const want = (await train(tf.train.adam(0.01, 0.9, 0.999, 1e-7), 'cpu')).values;
    const got = (await train(new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), 'cpu')).values;
    want.forEach((w, i) => expect(relativeError(got[i] as Float32Array, w)).toBe(0));
    await tf.setBackend('wasm');
  });

  it('runs no engine kernel per variable on wasm: in place, or one fused kernel where a buffer is shared', async () => {
    await tf.setBackend('wasm');
    const opt = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
    const vars = [tf.variable(tf.ones([10]), true, 'adamCount0'), tf.variable(tf.ones([6]), true, 'adamCount1')];
    const g = tf.fill([10], 0.5);
    const g1 = tf.fill([6], 0.25);
    const step = () =>
      opt.applyGradients([
        { name: vars[0]!.name, tensor: g },
        { name: vars[1]!.name, tensor: g1 },
      ]);
    step(); // creates the moments; the variables' first buffers are shared with tf.ones' leaked tensors
    const alone = await tf.profile(step);
    const names = alone.kernels.map((k) => k.name);
    expect(names.filter((k) => k === 'FersweepAdamUpdate')).toHaveLength(0);
    expect(names.filter((k) => k === 'Sqrt' || k === 'RealDiv')).toHaveLength(0);
    const clone = tf.clone(vars[1]!); // shares the buffer
    const shared = await tf.profile(step);
    expect(shared.kernels.filter((k) => k.name === 'FersweepAdamUpdate')).toHaveLength(1);
    tf.dispose([...vars, g, g1, clone]);
    opt.dispose();
  });
});
