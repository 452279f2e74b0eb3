import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import { disposeModel, labelTensor } from '../variants/common.js';
import { ModelError } from '../variants/errors.js';
import { buildModel } from '../variants/registry.js';
import { FER_INPUT, syntheticFaces, tempStore, useWasm } from '../variants/test-support.js';
import { artifactsFromModel, modelFromArtifacts } from './artifacts.js';
import { loadModel, saveModel } from './store.js';

let root: ObjectStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await useWasm();
  ({ store: root, cleanup } = await tempStore());
});
afterAll(() => cleanup());

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function predictions(model: tf.LayersModel, xs: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync() as Float32Array);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** A small deterministic CNN (no dropout) and a fixed batch, for exact resume comparisons. */
async function tinyCnn() {
  const { model } = await buildModel(
    'cnn',
    { width: 0.125, blocks: 2, denseUnits: 16, dropout: 0, denseDropout: 0, learningRate: 3e-3 },
    FER_INPUT,
    { seed: 9 },
  );
  return model;
}

describe('saving and loading models through an object store', () => {
  it('writes weights.bin and model.json with their sha256, and loads a model that predicts identically', async () => {
    const { xs } = syntheticFaces(8, 1);
    const before = tf.memory().numTensors;
    for (const [name, params] of [
      ['cnn', { width: 0.125 }],
      ['mobilenetv2', { alpha: 0.35, inputSize: 96 }],
    ] as const) {
      const store = root.sub(`identical/${name}`);
      const { model } = await buildModel(name, params, FER_INPUT, { seed: 1 });
      const saved = await saveModel(model, store);
      expect(saved.files.map((f) => f.key)).toEqual(['weights.bin', 'model.json']);
      for (const f of saved.files) {
        const bytes = await store.get(f.key);
        expect({ key: f.key, bytes: bytes.byteLength, sha256: sha256(bytes) }).toEqual(f);
      }
      const json = JSON.parse((await store.get('model.json')).toString('utf8')) as Record<string, unknown>;
      expect(json['format']).toBe('layers-model');
      expect(json['weightsManifest']).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
      expect(json['trainingConfig']).toMatchObject({ loss: 'categorical_crossentropy', metrics: ['accuracy'] });

      const loaded = await loadModel(store);
      expect(predictions(loaded, xs)).toEqual(predictions(model, xs));
      expect(loaded.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
      // Compiled from the training config: ready to fit or evaluate.
      expect(loaded.optimizer.getClassName()).toBe('Adam');
      disposeModel(model);
      disposeModel(loaded);
    }
    expect(tf.memory().numTensors).toBe(before);
    xs.dispose();
  });

  it('resumes training from a checkpoint with Adam’s state exactly as if it had never stopped', async () => {
    const { xs, ys } = syntheticFaces(16, 2);
    const before = tf.memory().numTensors;
    const N = 3;
    const M = 3;

    const straight = await tinyCnn();
    for (let i = 0; i < N + M; i++) await straight.trainOnBatch(xs, ys);

    const first = await tinyCnn();
    for (let i = 0; i < N; i++) await first.trainOnBatch(xs, ys);
    const store = root.sub('resume');
    await saveModel(first, store, { includeOptimizer: true });
    await saveModel(first, root.sub('resume-without-optimizer'));
    disposeModel(first);

    const resumed = await loadModel(store);
    expect(resumed.optimizer.iterations).toBe(N);
    for (let i = 0; i < M; i++) await resumed.trainOnBatch(xs, ys);
    const restarted = await loadModel(root.sub('resume-without-optimizer'));
    for (let i = 0; i < M; i++) await restarted.trainOnBatch(xs, ys);

    const diff = (a: tf.LayersModel, b: tf.LayersModel) =>
      Math.max(
        ...a.weights.map((w, i) =>
          tf.tidy(() => tf.max(tf.abs(tf.sub(w.read(), b.weights[i]?.read() as tf.Tensor))).dataSync()[0] as number),
        ),
      );
    expect(diff(resumed, straight)).toBeLessThan(1e-5);
    // Without the optimizer's moments the same steps land elsewhere: the comparison above can tell.
    expect(diff(restarted, straight)).toBeGreaterThan(1e-3);
    for (const m of [straight, resumed, restarted]) disposeModel(m);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });

  it('round-trips through in-memory artifacts (checkpoints kept in memory)', async () => {
    const { xs } = syntheticFaces(4, 3);
    const model = await tinyCnn();
    await model.trainOnBatch(xs, labelTensor([0, 1, 2, 3], 7));
    const artifacts = await artifactsFromModel(model, { includeOptimizer: true });
    expect(artifacts.weightSpecs?.filter((s) => s.group === 'optimizer').length).toBe(
      1 + 2 * model.trainableWeights.length,
    );
    const copy = await modelFromArtifacts(artifacts);
    expect(predictions(copy, xs)).toEqual(predictions(model, xs));
    expect(copy.optimizer.iterations).toBe(1);
    disposeModel(model);
    disposeModel(copy);
    xs.dispose();
  });

  it('refuses weights that do not match what model.json recorded', async () => {
    const store = root.sub('corrupt');
    const model = await tinyCnn();
    await saveModel(model, store);
    disposeModel(model);
    const weights = await store.get('weights.bin');
    const flipped = Buffer.from(weights);
    flipped[100] = (flipped[100] as number) ^ 0xff;
    await store.put('weights.bin', flipped);
    const err = await rejection(loadModel(store));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('CorruptArtifacts');
    expect((err as ModelError).message).toMatch(/weights\.bin does not match the size and sha256/);
  });

  it('checks foreign weights files against the manifest’s sizes, and rejects what is not a LayersModel', async () => {
    const store = root.sub('foreign');
    const model = await tinyCnn();
    await saveModel(model, store);
    disposeModel(model);
    // As tensorflowjs_converter writes it: no checksums, so only the size can be checked.
    const json = JSON.parse((await store.get('model.json')).toString('utf8')) as Record<string, unknown>;
    delete json['fersweepWeights'];
    await store.put('model.json', JSON.stringify(json));
    const weights = await store.get('weights.bin');
    await store.put('weights.bin', weights.subarray(0, weights.byteLength - 4));
    const short = (await rejection(loadModel(store))) as ModelError;
    expect(short.code).toBe('CorruptArtifacts');
    expect(short.message).toMatch(/hold \d+ bytes but its manifest describes \d+/);

    await store.put('model.json', JSON.stringify({ hello: 'world' }));
    expect(((await rejection(loadModel(store))) as ModelError).code).toBe('InvalidArtifacts');
    const missing = await rejection(loadModel(root.sub('nothing-here')));
    expect(missing).toBeInstanceOf(StoreError);
    expect((missing as StoreError).code).toBe('NotFound');
  });
});
