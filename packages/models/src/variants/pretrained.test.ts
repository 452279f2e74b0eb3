import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import type { ObjectStore } from '@fersweep/storage';
import { disposeModel, labelTensor } from './common.js';
import { ModelError } from './errors.js';
import { mobilenetv2, mobileNetV2BaseLayers } from './mobilenetv2.js';
import { splitModelUrl } from './pretrained.js';
import { parseParams } from './registry.js';
import { FER_INPUT, syntheticFaces, tempStore, useWasm, weightValues } from './test-support.js';

/**
 * nsfwjs@4.4.0 ships a Keras 2.2.4 MobileNetV2 (α 1.0, 224×224, keras.applications layer names, a 5-class head
 * dense_1…dense_3) as two browserify/UMD bundles: model.min.js exports the model.json object
 * ({ modelTopology, weightsManifest }) and group1-shard1of1.min.js exports the weights file as a base64 string
 * (uint8-quantized, per the manifest). Written out, they are an ordinary tfjs LayersModel folder.
 */
async function writeNsfwjsMobileNetV2(store: ObjectStore): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.join(here, '../../node_modules/nsfwjs/dist/models/mobilenet_v2');
  const require = createRequire(import.meta.url);
  const modelJson = require(path.join(dir, 'model.min.js')) as {
    modelTopology: object;
    weightsManifest: { paths: string[] }[];
  };
  const shard = require(path.join(dir, 'group1-shard1of1.min.js')) as string;
  expect(modelJson.weightsManifest.map((g) => g.paths)).toEqual([['group1-shard1of1']]);
  await store.put('group1-shard1of1', Buffer.from(shard, 'base64'));
  await store.put('model.json', JSON.stringify(modelJson));
}

let storeUrl: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await useWasm();
  const temp = await tempStore();
  cleanup = temp.cleanup;
  storeUrl = pathToFileURL(temp.dir).href;
  await writeNsfwjsMobileNetV2(temp.store);
});
afterAll(() => cleanup());

describe('pretrained MobileNetV2 weights', () => {
  it('finds model.json in a folder URL or takes the file URL itself', () => {
    expect(splitModelUrl('s3://b/weights/mnv2/')).toEqual({ storeUrl: 's3://b/weights/mnv2', key: 'model.json' });
    expect(splitModelUrl('s3://b/weights/mnv2/model.json')).toEqual({
      storeUrl: 's3://b/weights/mnv2',
      key: 'model.json',
    });
  });

  it('loads every base conv and BatchNorm layer of a real keras MobileNetV2 by name and skips the head', async () => {
    const before = tf.memory().numTensors;
    const params = parseParams('mobilenetv2', { pretrained: `${storeUrl}/model.json`, freezeBase: true });
    const built = await mobilenetv2.build(params, FER_INPUT);
    const { model, pretrained } = built;
    const withWeights = mobileNetV2BaseLayers(model).filter((l) => l.weights.length > 0);
    expect(withWeights).toHaveLength(52 + 52);
    expect(pretrained?.loaded).toEqual(withWeights.map((l) => l.name));
    expect(pretrained?.skipped).toEqual([{ layer: 'predictions', reason: 'head: trained from scratch' }]);
    expect(pretrained?.unused).toEqual(['dense_1', 'dense_2', 'dense_3']);
    expect(built.notes).toEqual([
      `mobilenetv2: pretrained weights from ${storeUrl}/model.json loaded into 104 of 104 base layers with weights`,
      'mobilenetv2: base frozen, training the head only',
    ]);
    // Values, not just shapes: the dequantized uint8 kernel and BN statistics arrived.
    const conv1 = model.getLayer('Conv1').getWeights()[0] as tf.Tensor;
    expect(conv1.shape).toEqual([3, 3, 3, 32]);
    const values = conv1.dataSync();
    expect(Math.min(...values)).toBeCloseTo(-0.8733, 3);
    const movingVariance = model.getLayer('Conv_1_bn').getWeights()[3]?.dataSync() as Float32Array;
    expect(movingVariance.every((v) => v > 0)).toBe(true);
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps a frozen base — weights and BatchNorm statistics — unchanged by training while the head learns', async () => {
    const { xs, labels } = syntheticFaces(8, 4);
    const ys = labelTensor(labels, 7);
    const params = parseParams('mobilenetv2', { pretrained: storeUrl, freezeBase: true });
    const { model } = await mobilenetv2.build(params, FER_INPUT);
    const base = new Set(mobileNetV2BaseLayers(model).map((l) => l.name));
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual(['predictions/kernel', 'predictions/bias']);
    const before = weightValues(model);
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const after = weightValues(model);
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const changed = [...before]
      .filter(([name, value]) => !bytes(value).equals(bytes(after.get(name) as Float32Array)))
      .map(([name]) => name);
    // Every base weight (2.26 M values, moving statistics included) is bit-identical; both head weights moved.
    expect(changed.filter((name) => base.has(name.slice(0, name.indexOf('/'))))).toEqual([]);
    expect(changed).toEqual(['predictions/kernel', 'predictions/bias']);
    disposeModel(model);
    tf.dispose([xs, ys]);
  });

  it('refuses weights of another width and a URL with nothing behind it', async () => {
    const before = tf.memory().numTensors;
    const narrow = parseParams('mobilenetv2', { alpha: 0.35, pretrained: storeUrl });
    const mismatch = await mobilenetv2.build(narrow, FER_INPUT).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(ModelError);
    expect((mismatch as ModelError).code).toBe('IncompatiblePretrained');
    expect((mismatch as ModelError).message).toMatch(/Conv1: kernel is \[3, 3, 3, 16\] here but \[3, 3, 3, 32\]/);
    const nowhere = parseParams('mobilenetv2', { pretrained: `${storeUrl}/elsewhere` });
    const missing = await mobilenetv2.build(nowhere, FER_INPUT).catch((e: unknown) => e);
    expect((missing as ModelError).code).toBe('InvalidParams');
    expect((missing as ModelError).where.field).toBe('params.pretrained');
    expect(tf.memory().numTensors).toBe(before);
  });
});
