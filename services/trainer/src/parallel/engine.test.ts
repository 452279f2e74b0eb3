import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { Random } from '@fersweep/dataset';
import { buildModel, compileClassifier, disposeModel, initTf, labelTensor } from '@fersweep/models';
import { DataParallel, type StepBatch } from './engine.js';

const input = { height: 8, width: 8, channels: 1, numClasses: 7 };
const PIXELS = input.height * input.width;

/** A model without BatchNorm or dropout: a data-parallel step must then equal a whole-batch step. */
function denseModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [input.height, input.width, 1] }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({
        units: 7,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  compileClassifier(model, 0.01);
  return model;
}

function batches(count: number, size: number, seed: number): StepBatch[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, (_, index) => {
    const n = index === count - 1 ? 1 : size; // the last one smaller than the replica count: an empty shard
    return {
      xs: Float32Array.from({ length: n * PIXELS }, () => rng.next()),
      labels: Uint8Array.from({ length: n }, () => rng.int(7)),
      size: n,
      index,
    };
  });
}

async function singleThread(model: tf.LayersModel, data: StepBatch[]): Promise<number[]> {
  const losses: number[] = [];
  for (const b of data) {
    const xs = tf.tensor4d(b.xs, [b.size, input.height, input.width, 1]);
    const ys = labelTensor(b.labels, 7);
    const out = (await model.trainOnBatch(xs, ys)) as number[];
    tf.dispose([xs, ys]);
    losses.push(out[0]!);
  }
  return losses;
}

function weights(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

let dp: DataParallel | undefined;
beforeAll(() => initTf({ prefer: 'wasm' }), 60_000);
afterAll(() => dp?.close());

describe('DataParallel', () => {
  it('trains a batch split over 2 replicas exactly as one thread trains the whole batch, replicas identical at every step, no leaked tensors', async () => {
    const data = batches(6, 12, 3);
    const reference = denseModel();
    const expected = await singleThread(reference, data);

    const model = denseModel();
    dp = await DataParallel.start({ replicas: 2, backend: 'wasm', seed: 1, batchSize: 12, input, checksumEvery: 1 });
    const losses: number[] = [];
    const replicaTensors: number[][] = [];
    let before = 0;
    for (const b of data) {
      losses.push((await dp.trainBatch(model, b, 0))[0]);
      replicaTensors.push([...dp.tensors]);
      await dp.sync(model);
      // The first sync gives the master model's optimizer its moments; later ones replace them.
      if (b.index === 0) before = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(before);
    // The replicas' own tensors do not grow step after step (the first step creates the optimizer's moments).
    for (const t of replicaTensors.slice(2)) expect(t).toEqual(replicaTensors[1]);

    for (let i = 0; i < data.length; i++) expect(losses[i]).toBeCloseTo(expected[i]!, 5);
    const got = weights(model);
    weights(reference).forEach((w, i) => {
      const g = got[i]!;
      for (let j = 0; j < w.length; j++) expect(Math.abs(g[j]! - w[j]!)).toBeLessThan(1e-5);
    });
    // The master model took the optimizer state too: one more step on each stays together.
    const extra = batches(1, 12, 9).map((b) => ({ ...b, index: 6 }));
    await dp.trainBatch(model, extra[0]!, 0);
    await dp.sync(model);
    await singleThread(reference, extra);
    const after = weights(model);
    weights(reference).forEach((w, i) => {
      for (let k = 0; k < w.length; k++) expect(Math.abs(after[i]![k]! - w[k]!)).toBeLessThan(1e-5);
    });
    disposeModel(model);
    disposeModel(reference);
    await dp.close();
    dp = undefined;
  }, 120_000);

  it('is deterministic for a seed and a thread count, dropout included', async () => {
    const cnnInput = { height: 48, width: 48, channels: 1, numClasses: 7 };
    const rng = new Random(4);
    const data: StepBatch[] = Array.from({ length: 3 }, (_, index) => ({
      xs: Float32Array.from({ length: 16 * 48 * 48 }, () => rng.next()),
      labels: Uint8Array.from({ length: 16 }, () => rng.int(7)),
      size: 16,
      index,
    }));
    const run = async () => {
      const { model } = await buildModel('cnn', { width: 0.125, blocks: 2, denseUnits: 16 }, cnnInput, { seed: 5 });
      const parallel = await DataParallel.start({
        replicas: 2,
        backend: 'wasm',
        seed: 5,
        batchSize: 16,
        input: cnnInput,
      });
      try {
        const losses: number[] = [];
        for (const b of data) losses.push((await parallel.trainBatch(model, b, 0))[0]);
        await parallel.sync(model);
        return { losses, weights: weights(model).map((w) => Array.from(w.slice(0, 4))) };
      } finally {
        await parallel.close();
        disposeModel(model);
      }
    };
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
  }, 180_000);
});
