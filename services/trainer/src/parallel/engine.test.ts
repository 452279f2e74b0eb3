import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { Random } from '@fersweep/dataset';
import { buildModel, compileClassifier, disposeModel, initTf, labelTensor } from '@fersweep/models';
import { localEvaluator } from '../forward.js';
import {
  DataParallel,
  replicaResourceLimits,
  type DataParallelOptions,
  SMALL_SHARD_IMAGES,
  SMALL_SHARD_YOUNG_GENERATION_MB,
  type StepBatch,
} from './engine.js';

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

const cnnInput = { height: 48, width: 48, channels: 1, numClasses: 7 };

/** Batches of random 48×48 images, `sizes[i]` images in batch i, from a seeded stream. */
function cnnBatches(seed: number, sizes: number[]): StepBatch[] {
  const rng = new Random(seed);
  return sizes.map((size, index) => ({
    xs: Float32Array.from({ length: size * 48 * 48 }, () => rng.next()),
    labels: Uint8Array.from({ length: size }, () => rng.int(7)),
    size,
    index,
  }));
}

/**
 * A small CNN (BatchNorm, dropout) built from `seed` and trained on `data` by 2 replicas: every step's loss and
 * accuracy, and the weights after a sync.
 */
async function trainCnn(
  data: StepBatch[],
  seed: number,
  options: Partial<DataParallelOptions> = {},
): Promise<{ results: number[]; weights: number[][] }> {
  const { model } = await buildModel('cnn', { width: 0.125, blocks: 2, denseUnits: 16 }, cnnInput, { seed });
  const parallel = await DataParallel.start({
    replicas: 2,
    backend: 'wasm',
    seed,
    batchSize: 16,
    input: cnnInput,
    ...options,
  });
  try {
    const results: number[] = [];
    for (const b of data) results.push(...(await parallel.trainBatch(model, b, 0)));
    await parallel.sync(model);
    return { results, weights: weights(model).map((w) => Array.from(w)) };
  } finally {
    await parallel.close();
    disposeModel(model);
  }
}

let dp: DataParallel | undefined;
beforeAll(() => initTf({ prefer: 'wasm' }), 60_000);
afterAll(() => dp?.close());

describe('DataParallel', () => {
  it('trains a batch split over 2 replicas exactly as one thread trains the whole batch (taken before trainBatch returns), replicas identical at every step, no leaked tensors', async () => {
    const data = batches(6, 12, 3);
    const reference = denseModel();
    const expected = await singleThread(reference, data);

    const model = denseModel();
    dp = await DataParallel.start({ replicas: 2, backend: 'wasm', seed: 1, batchSize: 12, input, checksumEvery: 1 });
    // 6 images per replica: the replicas' threads run with the larger young generation.
    expect(dp.youngGenerationMb).toBe(SMALL_SHARD_YOUNG_GENERATION_MB);
    const losses: number[] = [];
    const replicaTensors: number[][] = [];
    let before = 0;
    for (const b of data) {
      // The step has taken the batch when trainBatch returns (the trainer prepares the next one meanwhile):
      // clobbering the caller's buffers then changes nothing. And one step runs at a time.
      const own = { ...b, xs: b.xs.slice(), labels: b.labels.slice() };
      const step = dp.trainBatch(model, own, 0);
      own.xs.fill(NaN);
      own.labels.fill(6);
      if (b.index === 2)
        await expect(dp.trainBatch(model, b, 0)).rejects.toThrow(
          'data-parallel step started while the previous one runs',
        );
      losses.push((await step)[0]);
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
    // The master model took the optimizer state too, each variable's moments from the replica that updates them
    // (the optimizer step is sharded: replica 0 owns the first layer, replica 1 the second).
    const optimizerState = async (m: tf.LayersModel) =>
      (await m.optimizer.getWeights()).map((w) => ({ name: w.name, values: Array.from(w.tensor.dataSync()) }));
    const [gotState, wantState] = [await optimizerState(model), await optimizerState(reference)];
    expect(gotState.map((w) => w.values.length)).toEqual(wantState.map((w) => w.values.length));
    expect(gotState).toHaveLength(1 + 2 * 4);
    wantState.forEach((w, i) =>
      w.values.forEach((v, j) => expect(Math.abs(gotState[i]!.values[j]! - v)).toBeLessThan(1e-5)),
    );
    // One more step on each stays together.
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

  it('refuses a second step until the first one settles, even when the replicas finish before trainBatch returns', async () => {
    const model = denseModel();
    const parallel = await DataParallel.start({ replicas: 2, backend: 'wasm', seed: 1, batchSize: 12, input });
    const [first, second] = batches(2, 12, 4);
    const notify = Atomics.notify;
    try {
      await parallel.trainBatch(model, first!, 0); // loads the model: the next step goes straight to the replicas
      // The main thread descheduled right after it starts the replicas (a loaded machine): they finish the step
      // before it looks.
      Atomics.notify = ((array: Int32Array, index: number, count?: number) => {
        const woken = notify(array, index, count);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        return woken;
      }) as typeof Atomics.notify;
      const step = parallel.trainBatch(model, second!, 0);
      Atomics.notify = notify;
      await expect(parallel.trainBatch(model, second!, 0)).rejects.toThrow(
        'data-parallel step started while the previous one runs',
      );
      expect((await step)[0]).toBeGreaterThan(0);
      expect(await parallel.trainBatch(model, second!, 0)).toHaveLength(2);
    } finally {
      Atomics.notify = notify;
      await parallel.close();
      disposeModel(model);
    }
  });

  it('gives replicas with small shards a larger young generation, and V8 its own default otherwise', async () => {
    expect(replicaResourceLimits(64, 16)).toEqual({ maxYoungGenerationSizeMb: SMALL_SHARD_YOUNG_GENERATION_MB });
    expect(replicaResourceLimits(2 * SMALL_SHARD_IMAGES, 2)).toEqual({
      maxYoungGenerationSizeMb: SMALL_SHARD_YOUNG_GENERATION_MB,
    });
    expect(replicaResourceLimits(2 * SMALL_SHARD_IMAGES + 1, 2)).toEqual({}); // one replica trains 17
    expect(replicaResourceLimits(64, 2)).toEqual({});
    const parallel = await DataParallel.start({ replicas: 2, backend: 'wasm', seed: 1, batchSize: 64, input });
    try {
      expect(parallel.youngGenerationMb).toBeGreaterThan(0);
      expect(parallel.youngGenerationMb).toBeLessThan(SMALL_SHARD_YOUNG_GENERATION_MB);
    } finally {
      await parallel.close();
    }
  }, 60_000);

  it('is deterministic for a seed and a thread count, dropout included', async () => {
    const data = cnnBatches(4, [16, 16, 16]);
    const a = await trainCnn(data, 5);
    const b = await trainCnn(data, 5);
    expect(b).toEqual(a);
  }, 180_000);

  it('trains bit for bit the same with every replica step captured as without (BatchNorm and dropout included)', async () => {
    // Five steps: two recorded, three replayed; the last batch is smaller (its own shape, never replayed).
    const data = cnnBatches(6, [16, 16, 16, 16, 10]);
    const captured = await trainCnn(data, 7, { capture: true, checksumEvery: 1 });
    const plain = await trainCnn(data, 7, { capture: false, checksumEvery: 1 });
    expect(captured).toEqual(plain);
  }, 180_000);

  it('evaluates on the replicas with the main thread weights, even after they changed there: predictions of split batches, BatchNorm moments of whole batches, no leaked tensors', async () => {
    const rng = new Random(6);
    const images = (n: number) => Float32Array.from({ length: n * 48 * 48 }, () => rng.next());
    const step = (index: number): StepBatch => ({
      xs: images(16),
      labels: Uint8Array.from({ length: 16 }, () => rng.int(7)),
      size: 16,
      index,
    });
    const params = { width: 0.125, blocks: 2, denseUnits: 16 };
    const { model } = await buildModel('cnn', params, cnnInput, { seed: 7 });
    const { model: other } = await buildModel('cnn', params, cnnInput, { seed: 8 });
    const parallel = await DataParallel.start({
      replicas: 2,
      backend: 'wasm',
      seed: 7,
      batchSize: 16,
      input: cnnInput,
    });
    try {
      await parallel.trainBatch(model, step(0), 0);
      await parallel.sync(model); // as at the end of an epoch (the master model's optimizer gets its moments)
      const replicaTensors = [...parallel.tensors];
      // As restoring the best epoch's weights does: the master model changes, the replicas did not see it.
      model.setWeights(other.getWeights());
      const before = tf.memory().numTensors;
      const remote = await parallel.evaluation(model);
      expect(remote).toBeDefined();
      const local = localEvaluator(model, cnnInput);
      const xs = images(11); // 5 + 6 images on the two replicas
      const [got, want] = [await remote!.predict(xs, 11), await local.predict(xs, 11)];
      expect(got).toHaveLength(11 * 7);
      got.forEach((p, i) => expect(p).toBeCloseTo(want[i]!, 5));
      const groups = [11, 6, 9].map((size) => ({ xs: images(size), size }));
      const moments = await remote!.moments(groups);
      expect(moments.map((m) => m.layers.length)).toEqual([5, 5, 5]); // the CNN's BatchNorm layers at 2 blocks
      expect(moments).toEqual(await local.moments(groups));
      expect(tf.memory().numTensors).toBe(before);
      // Training goes on from the pushed weights, and the replicas hold no more tensors than before.
      await parallel.trainBatch(model, step(1), 0);
      expect(parallel.tensors).toEqual(replicaTensors);
    } finally {
      await parallel.close();
      disposeModel(model);
      disposeModel(other);
    }
  }, 180_000);
});
