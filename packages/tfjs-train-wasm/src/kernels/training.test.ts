import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray, relativeError } from '../testing/compare.js';
import { registerWasmTrainingKernels } from './register.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

/**
 * conv → BN → max-pool (BN first, so pooling windows are often all negative) → depthwise/2 → ReLU6 → pointwise →
 * GAP → dense: every supplied kernel and the BN gradient sit on the backward path.
 */
function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 2] });
  let x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', strides: 2, useBias: false })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 12, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 7 }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits });
  // Same weights on every backend; moving variances must stay positive.
  model.setWeights(
    model.weights.map((w, i) => {
      const shape = w.shape.map((d) => d ?? 1);
      const size = shape.reduce((a, b) => a * b, 1);
      return w.name.includes('moving_variance') ? tf.ones(shape) : tf.tensor(randomArray(size, 100 + i), shape);
    }),
  );
  return model;
}

const BATCH = 6;
const xs = randomArray(BATCH * 12 * 12 * 2, 7);
const labels = Array.from({ length: BATCH }, (_, i) => i % 7);

async function gradientsOn(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = tinyModel();
  const { grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const logits = model.apply(tf.tensor4d(xs, [BATCH, 12, 12, 2]), { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 7), logits) as tf.Scalar;
      }),
    model.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const values = model.trainableWeights.map((w) => {
    const g = grads[(w.read() as tf.Variable).name];
    if (g === undefined) throw new Error(`no gradient for ${w.name}`);
    return g.dataSync() as Float32Array;
  });
  tf.dispose(grads);
  model.dispose();
  return values;
}

describe('training a tiny conv/BN/max-pool/depthwise model on wasm', () => {
  it('computes the same weight gradients as the cpu backend', async () => {
    const cpu = await gradientsOn('cpu');
    const wasm = await gradientsOn('wasm');
    expect(wasm).toHaveLength(cpu.length);
    cpu.forEach((c, i) => expect(relativeError(wasm[i] as Float32Array, c)).toBeLessThan(1e-4));
  });

  it('leaks no tensors and no wasm buffers across a training step', async () => {
    await tf.setBackend('wasm');
    const model = tinyModel();
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const x = tf.tensor4d(xs, [BATCH, 12, 12, 2]);
    const y = tf.oneHot(labels, 7).toFloat();
    await model.trainOnBatch(x, y); // creates the optimizer's slots
    const wasmBackend = tf.engine().findBackend('wasm') as unknown as { numDataIds(): number };
    const tensors = tf.memory().numTensors;
    const buffers = wasmBackend.numDataIds();
    await model.trainOnBatch(x, y);
    await model.trainOnBatch(x, y);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(wasmBackend.numDataIds()).toBe(buffers);
    tf.dispose([x, y]);
    model.dispose();
  });
});
