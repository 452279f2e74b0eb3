import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FusedAdamOptimizer } from '../adam.js';
import { registerWasmTrainingKernels } from '../kernels/register.js';
import { randomArray, wasmDataIds } from '../testing/compare.js';
import { captureEnabled, CapturedTraining } from './captured-training.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

const random = Math.random;
afterEach(() => {
  Math.random = random;
});

/** A deterministic Math.random for step `step` (the trainer gives each step its own stream, as here). */
function seededRandom(step: number): () => number {
  let s = 1 + step * 7919;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

type Build = () => tf.LayersModel;

/** MobileNetV2's pieces at toy size: conv, BatchNorm, ReLU6, depthwise, residual add, pooling, Dropout, softmax. */
const mobileLike: Build = () => {
  const input = tf.input({ shape: [12, 12, 1] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input);
  x = tf.layers.batchNormalization().apply(x);
  x = tf.layers.reLU({ maxValue: 6 }).apply(x);
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  y = tf.layers.batchNormalization().apply(y);
  y = tf.layers.reLU({ maxValue: 6 }).apply(y);
  y = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(y);
  x = tf.layers.add().apply([x, y] as tf.SymbolicTensor[]);
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  x = tf.layers.dropout({ rate: 0.3 }).apply(x);
  const output = tf.layers.dense({ units: 4, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  model.compile({
    optimizer: new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
};

/** A dense model with an L2 penalty, trained by SGD without metrics (trainOnBatch returns one number). */
const regularised: Build = () => {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [12, 12, 1] }),
      tf.layers.dense({ units: 6, activation: 'relu', kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) }),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  return model;
};

/** Two models with the same weights: one trained by trainOnBatch, one through a capture. */
function twins(build: Build): [tf.LayersModel, tf.LayersModel] {
  const a = build();
  const b = build();
  b.setWeights(a.getWeights());
  return [a, b];
}

function batch(step: number, size = 6): [tf.Tensor, tf.Tensor] {
  const x = tf.tensor4d(randomArray(size * 144, 500 + step), [size, 12, 12, 1]);
  const labels = Array.from({ length: size }, (_, i) => (i + step) % 4);
  return [x, tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 4).toFloat())];
}

/** Trains both twins on the same batches with the same random streams; returns both models' results. */
async function trainBoth(
  a: tf.LayersModel,
  capture: CapturedTraining,
  steps: number[],
  size = 6,
): Promise<{ plain: unknown[]; captured: unknown[] }> {
  const plain: unknown[] = [];
  const captured: unknown[] = [];
  for (const step of steps) {
    const [x, y] = batch(step, size);
    Math.random = seededRandom(step);
    plain.push(await a.trainOnBatch(x, y));
    Math.random = seededRandom(step);
    captured.push(await capture.trainOnBatch(x, y));
    tf.dispose([x, y]);
  }
  return { plain, captured };
}

async function expectSameState(a: tf.LayersModel, b: tf.LayersModel): Promise<void> {
  const values = async (m: tf.LayersModel): Promise<tf.TypedArray[]> => [
    ...m.weights.map((w) => w.read().dataSync()),
    ...(await m.optimizer.getWeights()).map((w) => w.tensor.dataSync()),
  ];
  const [p, q] = [await values(a), await values(b)];
  expect(q.length).toBe(p.length);
  p.forEach((v, i) => expect(Array.from(q[i]!)).toEqual(Array.from(v)));
}

describe('CapturedTraining', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`replays a BatchNorm/Dropout model's step from the third on ${backend}, bit for bit as trainOnBatch`, async () => {
      await tf.setBackend(backend);
      const [a, b] = twins(mobileLike);
      const capture = new CapturedTraining(b, { enabled: true });
      const states: string[] = [];
      const plain: unknown[] = [];
      const captured: unknown[] = [];
      for (let step = 0; step < 7; step++) {
        const r = await trainBoth(a, capture, [step]);
        plain.push(...r.plain);
        captured.push(...r.captured);
        states.push(capture.status()[0]!.state);
      }
      expect(states).toEqual(['recording', 'captured', 'captured', 'captured', 'captured', 'captured', 'captured']);
      expect(captured).toEqual(plain);
      // The masks differ between steps (Dropout is drawn again on every replay), so losses move.
      expect(new Set(plain.map((l) => JSON.stringify(l))).size).toBe(plain.length);
      await expectSameState(a, b);
      capture.dispose();
      tf.dispose([a, b].map((m) => m.weights.map((w) => w.read())));
      await tf.setBackend('wasm');
    });
  }

  it('replays a regularised SGD step without metrics (one number back)', async () => {
    const [a, b] = twins(regularised);
    const captures: [string, number][] = [];
    const capture = new CapturedTraining(b, { enabled: true, onCaptured: (...c) => captures.push(c) });
    const { plain, captured } = await trainBoth(a, capture, [0, 1, 2, 3, 4]);
    expect(capture.status()).toEqual([expect.objectContaining({ state: 'captured' })]);
    expect(captures).toEqual([['float32[6,12,12,1]/float32[6,4]', expect.any(Number)]]);
    expect(captures[0]![1]).toBeGreaterThan(10);
    expect(typeof captured[4]).toBe('number');
    expect(captured).toEqual(plain);
    await expectSameState(a, b);
    capture.dispose();
  });

  it('leaves no tensor and no wasm buffer behind, and dispose() frees its constants', async () => {
    const [a, b] = twins(mobileLike);
    let capture = new CapturedTraining(b, { enabled: true });
    await trainBoth(a, capture, [0, 1, 2]);
    const tensors = tf.memory().numTensors;
    const buffers = wasmDataIds();
    await trainBoth(a, capture, [3, 4, 5, 6]);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(wasmDataIds()).toBe(buffers);
    capture.dispose();
    const disposed = wasmDataIds();
    expect(disposed).toBeLessThan(buffers);
    // A second capture of the same model, recorded, replayed and disposed, leaves exactly as much.
    capture = new CapturedTraining(b, { enabled: true });
    await trainBoth(a, capture, [7, 8, 9]);
    expect(capture.status()[0]!.state).toBe('captured');
    capture.dispose();
    expect(wasmDataIds()).toBe(disposed);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('records again after the optimizer, the batch size or the weights change, and stays equal', async () => {
    const [a, b] = twins(mobileLike);
    const capture = new CapturedTraining(b, { enabled: true });
    await trainBoth(a, capture, [0, 1, 2]);
    // A smaller last batch is its own shape: recorded twice, then replayed.
    let r = await trainBoth(a, capture, [3, 4, 5], 4);
    expect(r.captured).toEqual(r.plain);
    expect(capture.status().map((s) => s.state)).toEqual(['captured', 'captured']);
    // New weights (a checkpoint restored): the same variables, so the recording holds.
    const restored = a.getWeights();
    a.setWeights(restored);
    b.setWeights(restored);
    r = await trainBoth(a, capture, [6, 7]);
    expect(r.captured).toEqual(r.plain);
    // A new optimizer: recorded again.
    for (const m of [a, b])
      m.compile({ optimizer: new FusedAdamOptimizer(0.02, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
    r = await trainBoth(a, capture, [8]);
    expect(capture.status()[0]!.state).toBe('recording');
    r = await trainBoth(a, capture, [9, 10, 11]);
    expect(r.captured).toEqual(r.plain);
    expect(capture.status()[0]!.state).toBe('captured');
    await expectSameState(a, b);
    capture.dispose();
  });

  it('keeps running trainOnBatch for a step that draws random numbers outside Dropout, and says why', async () => {
    const noisy: Build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [12, 12, 1] }),
          tf.layers.gaussianNoise({ stddev: 0.1 }),
          tf.layers.dense({ units: 4, activation: 'softmax' }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      return model;
    };
    const [a, b] = twins(noisy);
    const refusals: string[] = [];
    const capture = new CapturedTraining(b, { enabled: true, onRefused: (reason) => refusals.push(reason) });
    const { plain, captured } = await trainBoth(a, capture, [0, 1, 2, 3]);
    expect(captured).toEqual(plain);
    expect(capture.status()).toEqual([expect.objectContaining({ state: 'refused' })]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/float32\[6,12,12,1\].*Math\.random 1 time\(s\) outside Dropout/);
    await expectSameState(a, b);
    capture.dispose();
  });

  it('keeps running trainOnBatch for a step that reads tensor values in the middle', async () => {
    class Peek extends tf.layers.Layer {
      static className = 'CaptureTestPeek';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        const x = Array.isArray(inputs) ? inputs[0]! : inputs;
        // A data-dependent scale: what a replay could not know.
        const scale = x.max().dataSync()[0]! > 0 ? 1 : 2;
        return tf.mul(x, scale);
      }
    }
    const peeking: Build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [12, 12, 1] }),
          new Peek({}),
          tf.layers.dense({ units: 4, activation: 'softmax' }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      return model;
    };
    const [a, b] = twins(peeking);
    const capture = new CapturedTraining(b, { enabled: true });
    const { plain, captured } = await trainBoth(a, capture, [0, 1, 2]);
    expect(captured).toEqual(plain);
    expect(capture.status()).toEqual([
      expect.objectContaining({ state: 'refused', reason: 'the step reads tensor values to JavaScript' }),
    ]);
    capture.dispose();
  });

  it('is off with FERSWEEP_CAPTURE_STEP=0: every step runs trainOnBatch', async () => {
    expect(captureEnabled({ FERSWEEP_CAPTURE_STEP: '0' })).toBe(false);
    expect(captureEnabled({})).toBe(true);
    const [a, b] = twins(regularised);
    const capture = new CapturedTraining(b, { enabled: captureEnabled({ FERSWEEP_CAPTURE_STEP: '0' }) });
    const { plain, captured } = await trainBoth(a, capture, [0, 1, 2]);
    expect(captured).toEqual(plain);
    expect(capture.status()).toEqual([]);
  });
});
