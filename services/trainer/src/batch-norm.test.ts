import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { rm } from 'node:fs/promises';
import { PRECISE_BATCH_NORM_IMAGES, TrialSpec, type TrialSpecInput } from '@fersweep/contracts';
import { DatasetReader, epochBatches, Random, type DatasetSource } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { disposeModel, initTf, loadModel } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { preciseBatchNormPlan, recalibrateBatchNorm } from './batch-norm.js';
import { trainerWorkdir } from './testing/workdir.js';
import { runTrial } from './trainer.js';

let dir: string;
const logger = createLogger({ service: 'trainer', silent: true });

/**
 * An easy 7-class dataset: class k is a bright 12×12 square around the k-th of 7 points on a circle (±3 px),
 * on a noisy background of random brightness. 1,050 images: 756 train, 84 val, 210 test.
 */
function squares(count: number, seed: number): DatasetSource {
  return {
    kind: 'synthetic',
    uri: `test:squares,count=${count},seed=${seed}`,
    sha256: () => 'a'.repeat(64),
    async *rows() {
      const rng = new Random(seed);
      for (let i = 0; i < count; i++) {
        const label = i % 7;
        const pixels = new Uint8Array(48 * 48);
        const bg = rng.int(60);
        for (let p = 0; p < pixels.length; p++) pixels[p] = bg + rng.int(40);
        const cx = Math.round(24 + 14 * Math.cos((2 * Math.PI * label) / 7)) + rng.int(7) - 3;
        const cy = Math.round(24 + 14 * Math.sin((2 * Math.PI * label) / 7)) + rng.int(7) - 3;
        const level = 160 + rng.int(96);
        for (let y = Math.max(cy - 6, 0); y < Math.min(cy + 6, 48); y++)
          for (let x = Math.max(cx - 6, 0); x < Math.min(cx + 6, 48); x++) pixels[y * 48 + x] = level;
        yield { index: i, label, usage: i % 5 === 4 ? 'PublicTest' : 'Training', pixels };
      }
    },
  };
}

beforeAll(async () => {
  await initTf({ prefer: 'wasm' });
  dir = await trainerWorkdir('bn', squares(1050, 3), 'squares');
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function spec(over: Partial<TrialSpecInput> = {}): TrialSpec {
  return TrialSpec.parse({
    sweep: 'bn',
    trial: 'cnn',
    variant: 'cnn',
    model: 'cnn',
    // No dropout: the weights are a deterministic function of the spec, and batch-statistics inference
    // (training mode) differs from evaluation only in its BatchNorm statistics.
    params: { width: 0.125, dropout: 0, denseDropout: 0 },
    dataset: `file://${dir}/data`,
    output: `file://${dir}/out`,
    epochs: 1,
    batchSize: 32,
    seed: 5,
    ...over,
  });
}

async function trial(s: TrialSpec, signal?: AbortSignal, threads?: number) {
  const bus = createMemoryBus();
  try {
    return await runTrial({
      spec: s,
      openStore,
      bus,
      logger,
      runtime: await initTf({ prefer: 'wasm' }),
      ...(signal ? { signal } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
  } finally {
    await bus.close();
  }
}

/** Validation accuracy of a saved model when every BatchNorm layer normalises with each batch's own statistics. */
async function batchStatisticsAccuracy(modelUri: string): Promise<number> {
  const model = await loadModel(openStore(modelUri.replace(/\/$/, '')));
  const val = await (await DatasetReader.open(openStore(`file://${dir}/data`))).loadSplit('val');
  let correct = 0;
  for (const b of epochBatches({ data: val, batchSize: 32, seed: 0, epoch: 0, shuffle: false })) {
    const predicted = tf.tidy(() => {
      const xs = tf.tensor4d(b.xs, [b.size, 48, 48, 1]);
      return (model.apply(xs, { training: true }) as tf.Tensor).argMax(-1).dataSync();
    });
    predicted.forEach((p, i) => (correct += Number(p === b.labels[i])));
  }
  disposeModel(model);
  return correct / val.count;
}

describe('BatchNorm statistics for evaluation', () => {
  it('validates each of epochs 1–3 within a few points of batch statistics, far above chance', async () => {
    const rows: { epochs: number; valAccuracy: number; batchStatistics: number }[] = [];
    for (const epochs of [1, 2, 3]) {
      const result = await trial(spec({ trial: `precise-${epochs}`, epochs }));
      const batchStatistics = await batchStatisticsAccuracy(result.modelUri);
      rows.push({ epochs, valAccuracy: result.history[epochs - 1]!.valAccuracy, batchStatistics });
    }
    // Within 5 points (closeTo with 1 digit: |Δ| < 0.05) of the same weights with batch statistics, which are
    // far above chance (1/7).
    expect(rows).toEqual(rows.map((r) => ({ ...r, valAccuracy: expect.closeTo(r.batchStatistics, 1) })));
    for (const r of rows) expect(r.batchStatistics).toBeGreaterThan(0.5);
  }, 300_000);

  it('keeps Keras moving averages when the variant sets batchNormMomentum explicitly', async () => {
    const params = { ...spec().params, batchNormMomentum: 0.99 };
    const result = await trial(spec({ trial: 'moving', params }));
    const meta = JSON.parse(
      (await openStore(result.modelUri.replace(/\/$/, '')).get('metadata.json')).toString('utf8'),
    ) as { training: { batchNormStatistics: unknown } };
    expect(meta.training.batchNormStatistics).toEqual({ method: 'moving-average' });
    // 24 steps at momentum 0.99 leave the moving statistics far from the weights' (the defect precise BN fixes).
    expect(result.history[0]!.valAccuracy).toBeLessThan((await batchStatisticsAccuracy(result.modelUri)) - 0.2);
  }, 120_000);

  // On data-parallel threads the statistics pass runs on the replicas, whole batches each: the same statistics.
  it.each([1, 2])(
    'resumed mid-epoch, evaluates as an uninterrupted run: statistics are a function of the final weights (%i threads)',
    async (threads) => {
      const straight = await trial(spec({ trial: `straight-${threads}`, epochs: 2 }), undefined, threads);
      const s = spec({ trial: `resumed-${threads}`, epochs: 2 });
      // The trainer reads `aborted` after each batch (24 an epoch) and after each epoch: the 30th read is after
      // batch 5 of epoch 2.
      let reads = 0;
      const signal = {
        get aborted() {
          return ++reads >= 30;
        },
      } as AbortSignal;
      const before = tf.memory().numTensors;
      await expect(trial(s, signal, threads)).rejects.toThrow(/in epoch 2 after batch 5;/);
      expect(tf.memory().numTensors).toBe(before);
      const resumed = await trial(s, undefined, threads);
      // The same decisions. (Weights agree to float32 rounding only: tfjs' Adam.setWeights recomputes β^t with
      // pow where an uninterrupted run multiplies, so losses differ in the 7th digit.)
      expect(resumed.history.map((h) => h.valAccuracy)).toEqual(straight.history.map((h) => h.valAccuracy));
      resumed.history.forEach((h, i) => expect(h.valLoss).toBeCloseTo(straight.history[i]!.valLoss, 4));

      // The saved statistics are exactly a re-estimation from the saved weights (epoch 2's draw): nothing of the
      // interruption or of the moving averages before it is left in them.
      const model = await loadModel(openStore(resumed.modelUri.replace(/\/$/, '')));
      const statistics = () =>
        model.weights.filter((w) => /moving_(mean|variance)/.test(w.name)).map((w) => Array.from(w.read().dataSync()));
      const saved = statistics();
      const train = await (await DatasetReader.open(openStore(`file://${dir}/data`))).loadSplit('train');
      const plan = preciseBatchNormPlan(s, train.count)!;
      const again = await recalibrateBatchNorm(model, train, plan, s, 1, 1);
      expect(again).toMatchObject({ layers: 10, skipped: [], images: PRECISE_BATCH_NORM_IMAGES });
      expect(statistics()).toEqual(saved);
      disposeModel(model);
    },
    300_000,
  );
});

describe('preciseBatchNormPlan', () => {
  it('estimates from min(images, train split) in even batches no larger than the evaluation batch', () => {
    expect(preciseBatchNormPlan(spec(), 10_000)).toEqual({ images: PRECISE_BATCH_NORM_IMAGES, batchSize: 128 });
    expect(preciseBatchNormPlan(spec({ preciseBatchNorm: { images: 300 } }), 10_000)).toEqual({
      images: 300,
      batchSize: 100,
    });
    expect(preciseBatchNormPlan(spec({ batchSize: 256 }), 200)).toEqual({ images: 200, batchSize: 200 });
  });

  it('is off when the spec says so or when the variant sets batchNormMomentum', () => {
    expect(preciseBatchNormPlan(spec({ preciseBatchNorm: false }), 1000)).toBeUndefined();
    expect(preciseBatchNormPlan(spec({ params: { batchNormMomentum: 0.9 } }), 1000)).toBeUndefined();
  });
});
