import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { adaptLayers } from './common.js';
import { randomArray, relativeError } from '@fersweep/tfjs-train-wasm/testing';
import { registerWasmTrainingKernels } from '@fersweep/tfjs-train-wasm';

const EPS = 1e-3;
const MOMENTUM = 0.8;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

interface Case {
  name: string;
  shape: number[];
  affine: boolean;
}

const cases: Case[] = [
  { name: 'NHWC, 8 channels', shape: [3, 5, 4, 8], affine: true },
  { name: 'dense [batch, units], 12 units', shape: [6, 12], affine: true },
  { name: 'channels not a multiple of 4 (composed path on wasm too)', shape: [4, 3, 3, 5], affine: true },
  { name: 'no center, no scale (fails in stock tfjs-layers 4.22)', shape: [2, 4, 4, 8], affine: false },
];

const channelsOf = (c: Case): number => c.shape[c.shape.length - 1] as number;

/** A model around one BatchNormalization layer with non-trivial weights and moving statistics, adapted. */
function adaptedModel(c: Case): { model: tf.LayersModel; layer: tf.layers.Layer } {
  const input = tf.input({ shape: c.shape.slice(1) });
  const layer = tf.layers.batchNormalization({
    momentum: MOMENTUM,
    epsilon: EPS,
    ...(c.affine ? {} : { center: false, scale: false }),
  });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  // Weights in order: [gamma, beta,] moving mean, moving variance.
  model.setWeights(
    layer.getWeights().map((w, i, all) => {
      const variance = i === all.length - 1;
      return tf.tensor(randomArray(channelsOf(c), 40 + i, variance ? 2 : 0.5), w.shape);
    }),
  );
  adaptLayers(model);
  return { model, layer };
}

/** tfjs-layers' own training computation: moments, then batchNorm, differentiated by the tape. */
function reference(c: Case, xv: Float32Array, gv: Float32Array, weights: Float32Array[]): Float32Array[] {
  return tf.tidy(() => {
    const channels = channelsOf(c);
    const x = tf.tensor(xv, c.shape);
    const g = tf.tensor(gv, c.shape);
    const axes = c.shape.slice(0, -1).map((_, i) => i);
    const [gamma, beta] = c.affine
      ? [tf.tensor1d(weights[0] as Float32Array), tf.tensor1d(weights[1] as Float32Array)]
      : [tf.ones([channels]), tf.zeros([channels])];
    const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(xi, axes);
      return tf.sum(tf.mul(tf.batchNorm(xi, mean, variance, bi as tf.Tensor1D, gi as tf.Tensor1D, EPS), g));
    };
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, EPS);
    const [dx, dGamma, dBeta] = tf.grads(f)([x, gamma, beta]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const moving = (old: Float32Array, value: tf.Tensor): tf.Tensor =>
      tf.sub(tf.tensor1d(old), tf.mul(tf.sub(tf.tensor1d(old), value), 1 - MOMENTUM));
    const [movingMean, movingVariance] = weights.slice(-2) as [Float32Array, Float32Array];
    return [
      y,
      dx,
      ...(c.affine ? [dGamma, dBeta] : []),
      moving(movingMean, mean),
      moving(movingVariance, variance),
    ].map((t) => t.dataSync() as Float32Array);
  });
}

/** The adapted layer in training: output, dx and the weights' gradients from one call, then its moving stats. */
function adapted(c: Case, xv: Float32Array, gv: Float32Array): { values: Float32Array[]; weights: Float32Array[] } {
  const { model, layer } = adaptedModel(c);
  const weights = layer.getWeights().map((w) => w.dataSync() as Float32Array);
  const x = tf.variable(tf.tensor(xv, c.shape));
  const before = tf.memory().numTensors;
  const captured: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    captured.push(tf.keep(y.clone()));
    return tf.sum(tf.mul(y, tf.tensor(gv, c.shape))) as tf.Scalar;
  }, [x, ...layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)]);
  const ordered = [grads[x.name] as tf.Tensor, ...layer.trainableWeights.map((w) => grads[w.name] ?? null)];
  const values = [
    captured[0] as tf.Tensor,
    ...ordered.filter((t): t is tf.Tensor => t !== null),
    ...layer.getWeights().slice(-2),
  ].map((t) => t.dataSync() as Float32Array);
  tf.dispose([value, ...captured, ...Object.values(grads)]);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  model.dispose();
  return { values, weights };
}

describe('BatchNorm training as one op (adaptLayers)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it.each(cases.map((c) => [c.name, c] as const))(
      `matches tfjs-layers' composition on ${backend}: %s`,
      async (_, c) => {
        await tf.setBackend(backend);
        const xv = randomArray(
          c.shape.reduce((a, b) => a * b, 1),
          50,
          0.3,
        );
        const gv = randomArray(xv.length, 51);
        const { values, weights } = adapted(c, xv, gv);
        const want = reference(c, xv, gv, weights);
        expect(values.length).toBe(want.length);
        want.forEach((w, i) => expect(relativeError(values[i] as Float32Array, w)).toBeLessThan(1e-4));
      },
    );
  }
});
