import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { randomArray, relativeError } from '@fersweep/tfjs-train-wasm/testing';
import { registerWasmTrainingKernels } from '@fersweep/tfjs-train-wasm';
import { saveModel } from '../io/store.js';
import { estimateBatchNormStatistics } from './batch-norm-statistics.js';
import { adaptLayers, disposeModel } from './common.js';
import { applyFineTuning, mobilenetv2 } from './mobilenetv2.js';
import { parseParams } from './registry.js';
import { FER_INPUT, syntheticFaces, tempStore, useWasm } from './test-support.js';

const EPS = 1e-3;
const SHAPE = [3, 3, 4];
/** Unequal batch sizes: the pooled statistics must weight each batch by its size. */
const BATCHES = [5, 7, 3];

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

/**
 * image [3, 3, 4] → bn1 → dense 8 (ReLU, pointwise) → [dropout 0.5] → bn2 → frozen bn → output, adapted, with
 * random weights and moving statistics.
 */
function model(withDropout: boolean): tf.LayersModel {
  const input = tf.input({ shape: SHAPE });
  let x = tf.layers.batchNormalization({ name: 'bn1', epsilon: EPS }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 8, activation: 'relu', name: 'dense' }).apply(x) as tf.SymbolicTensor;
  if (withDropout) x = tf.layers.dropout({ rate: 0.5, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn2', epsilon: EPS }).apply(x) as tf.SymbolicTensor;
  const frozen = tf.layers.batchNormalization({ name: 'frozen', epsilon: EPS });
  x = frozen.apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x });
  m.setWeights(
    m.getWeights().map((t, i) => {
      const variance = m.weights[i]?.name.includes('moving_variance') === true;
      return tf.tensor(randomArray(t.size, 90 + i, variance ? 2 : 0.5), t.shape);
    }),
  );
  frozen.trainable = false;
  adaptLayers(m);
  return m;
}

/** Batch b's images: channel c scaled by c + 1 and offset by 2c, so that means and variances differ per channel. */
function images(b: number, n: number): Float32Array {
  const v = randomArray(n * 36, 200 + b);
  return v.map((u, i) => u * ((i % 4) + 1) + 2 * (i % 4));
}

const weightOf = (m: tf.LayersModel, name: string): Float64Array =>
  Float64Array.from(
    m.weights
      .find((w) => w.name.includes(name))!
      .read()
      .dataSync(),
  );

/** Mean and biased variance per channel of `rows` (row-major, `channels` wide), in float64. */
function moments(rows: Float64Array, channels: number): { mean: Float64Array; variance: Float64Array } {
  const n = rows.length / channels;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let i = 0; i < rows.length; i++) mean[i % channels]! += rows[i]! / n;
  for (let i = 0; i < rows.length; i++) variance[i % channels]! += (rows[i]! - mean[i % channels]!) ** 2 / n;
  return { mean, variance };
}

/**
 * The float64 reference: per batch, bn1's input is the images; bn2's input is relu(dense(bn1 with that batch's
 * statistics)), dropout off. Each layer's population statistics are those of its inputs over all batches.
 */
function reference(m: tf.LayersModel): { bn1: ReturnType<typeof moments>; bn2: ReturnType<typeof moments> } {
  const [gamma, beta] = [weightOf(m, 'bn1/gamma'), weightOf(m, 'bn1/beta')];
  const [kernel, bias] = [weightOf(m, 'dense/kernel'), weightOf(m, 'dense/bias')];
  const all1: number[] = [];
  const all2: number[] = [];
  BATCHES.forEach((n, b) => {
    const x = Float64Array.from(images(b, n));
    all1.push(...x);
    const { mean, variance } = moments(x, 4);
    for (let r = 0; r < x.length / 4; r++) {
      const y = [0, 1, 2, 3].map(
        (c) => (gamma[c]! * (x[r * 4 + c]! - mean[c]!)) / Math.sqrt(variance[c]! + EPS) + beta[c]!,
      );
      for (let u = 0; u < 8; u++) {
        let z = bias[u]!;
        for (let c = 0; c < 4; c++) z += y[c]! * kernel[c * 8 + u]!;
        all2.push(Math.max(z, 0));
      }
    }
  });
  return { bn1: moments(Float64Array.from(all1), 4), bn2: moments(Float64Array.from(all2), 8) };
}

function* batches(): Generator<tf.Tensor> {
  for (const [b, n] of BATCHES.entries()) yield tf.tensor4d(images(b, n), [n, 3, 3, 4]);
}

describe.each(['wasm', 'cpu'] as const)('estimateBatchNormStatistics on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('writes each trainable layer the exact population statistics of its inputs (float64 reference), dropout off', () => {
    const m = model(true);
    const expected = reference(m);
    const trainable = m.trainableWeights.map((w) => Float64Array.from(w.read().dataSync()));
    const frozen = m
      .getLayer('frozen')
      .getWeights()
      .map((w) => Float64Array.from(w.dataSync()));
    const before = tf.memory().numTensors;

    const estimate = estimateBatchNormStatistics(m, batches());

    expect(tf.memory().numTensors).toBe(before);
    expect(estimate).toEqual({ layers: 2, skipped: [], images: 15, batches: 3 });
    for (const name of ['bn1', 'bn2'] as const) {
      const mean = new Float32Array(weightOf(m, `${name}/moving_mean`));
      const variance = new Float32Array(weightOf(m, `${name}/moving_variance`));
      expect(relativeError(mean, new Float32Array(expected[name].mean))).toBeLessThan(1e-5);
      expect(relativeError(variance, new Float32Array(expected[name].variance))).toBeLessThan(1e-5);
    }
    // Frozen layers keep every weight (Keras: a non-trainable BatchNorm runs in inference mode); no trainable
    // weight moves.
    expect(
      m
        .getLayer('frozen')
        .getWeights()
        .map((w) => Float64Array.from(w.dataSync())),
    ).toEqual(frozen);
    expect(m.trainableWeights.map((w) => Float64Array.from(w.read().dataSync()))).toEqual(trainable);
    m.dispose();
  });

  it('makes inference on one batch reproduce the training-mode output of that batch', () => {
    const m = model(false);
    const n = 6;
    const x = tf.tensor4d(images(9, n), [n, 3, 3, 4]);
    estimateBatchNormStatistics(m, [x.clone()]);
    const inferred = tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync() as Float32Array);
    const trained = tf.tidy(() => (m.apply(x, { training: true }) as tf.Tensor).dataSync() as Float32Array);
    expect(relativeError(inferred, trained)).toBeLessThan(1e-5);
    x.dispose();
    m.dispose();
  });

  it('runs nothing and disposes the batches when no BatchNorm layer is trainable', () => {
    const m = model(false);
    for (const layer of m.layers) layer.trainable = false;
    const movingBefore = m.getWeights().map((w) => Float64Array.from(w.dataSync()));
    const before = tf.memory().numTensors;
    expect(estimateBatchNormStatistics(m, batches())).toEqual({ layers: 0, skipped: [], images: 0, batches: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(m.getWeights().map((w) => Float64Array.from(w.dataSync()))).toEqual(movingBefore);
    m.dispose();
  });
});

describe('estimateBatchNormStatistics on a MobileNetV2 with a frozen base', () => {
  it('re-estimates only the BatchNorm layers fine-tuning unfroze; frozen ones keep their statistics', async () => {
    await useWasm();
    const { store, dir, cleanup } = await tempStore();
    try {
      const source = await mobilenetv2.build(parseParams('mobilenetv2', { alpha: 0.35 }), FER_INPUT, { seed: 5 });
      await saveModel(source.model, store.sub('source'));
      disposeModel(source.model);
      const params = parseParams('mobilenetv2', {
        alpha: 0.35,
        pretrained: `${dir}/source`,
        freezeBase: true,
        fineTuneAt: { epoch: 1, layers: 20, learningRate: 1e-4 },
      });
      const { model } = await mobilenetv2.build(params, FER_INPUT);
      const faces = () => {
        const { xs, ys } = syntheticFaces(16, 3);
        ys.dispose();
        return [xs];
      };
      const statistics = () =>
        new Map(
          model.layers
            .filter((l) => l.getClassName() === 'BatchNormalization')
            .map((l) => [
              l.name,
              l
                .getWeights()
                .slice(-2)
                .map((w) => Array.from(w.dataSync())),
            ]),
        );
      const frozen = statistics();
      expect(estimateBatchNormStatistics(model, faces())).toMatchObject({ layers: 0, batches: 0 });
      expect(statistics()).toEqual(frozen);

      applyFineTuning(model, params, 1);
      const before = tf.memory().numTensors;
      const unfrozen = model.layers.filter((l) => l.getClassName() === 'BatchNormalization' && l.trainable);
      expect(unfrozen.map((l) => l.name)).toEqual([
        'block_15_expand_BN',
        'block_15_depthwise_BN',
        'block_15_project_BN',
        'block_16_expand_BN',
        'block_16_depthwise_BN',
        'block_16_project_BN',
        'Conv_1_bn',
      ]);
      expect(estimateBatchNormStatistics(model, faces())).toMatchObject({ layers: 7, skipped: [], batches: 1 });
      expect(tf.memory().numTensors).toBe(before);
      const after = statistics();
      for (const [name, values] of frozen) {
        if (unfrozen.some((l) => l.name === name)) expect(after.get(name)).not.toEqual(values);
        else expect(after.get(name)).toEqual(values);
      }
      disposeModel(model);
    } finally {
      await cleanup();
    }
  });
});
