import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { keys } from '@fersweep/contracts';
import { openStore } from '@fersweep/storage';
import { writeKerasMobileNetV2Fixture, type KerasFixtureWeight } from '@fersweep/testkit';
import { exportKerasH5 } from '../export/keras-h5.js';
import { readKerasWeights } from '../io/keras-h5.js';
import { disposeModel, labelTensor } from '../variants/common.js';
import { ModelError } from '../variants/errors.js';
import { mobilenetv2, mobileNetV2BaseLayers } from '../variants/mobilenetv2.js';
import { kerasMobileNetV2FileName, MOBILENETV2_ALPHAS, mobileNetV2WeightPlan } from '../variants/mobilenetv2-layout.js';
import { parseParams } from '../variants/registry.js';
import { FER_INPUT, syntheticFaces, tempStore, useWasm, weightValues } from '../variants/test-support.js';
import type { BuildOptions } from '../variants/types.js';
import { inferMobileNetV2Alpha } from './keras-mobilenetv2.js';
import { storeKerasWeights } from './keras-store.js';

/** A local stand-in for keras' bucket: serves `files` by name and counts the requests. */
async function weightsServer(files: Map<string, Buffer>) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    requests.push(name);
    const body = files.get(name);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' }).end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keras-applications/mobilenet_v2`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A loopback URL nothing listens on: what "offline" looks like to fetch. */
async function unreachableUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/mobilenet_v2`;
}

/** The values the fixture wrote for one weight. */
const truthOf = (truth: KerasFixtureWeight[], layer: string, param: string) =>
  truth.find((w) => w.layer === layer && w.param === param)?.values as Float32Array;
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let dir: string;
let cleanup: () => Promise<void>;
const fixtures = new Map<number, { file: string; truth: KerasFixtureWeight[] }>();

beforeAll(async () => {
  await useWasm();
  ({ dir, cleanup } = await tempStore());
  for (const alpha of [0.35, 1.3]) {
    const file = path.join(dir, kerasMobileNetV2FileName(alpha, 96));
    fixtures.set(alpha, { file, truth: await writeKerasMobileNetV2Fixture(file, alpha, Math.round(alpha * 100)) });
  }
});
afterAll(() => cleanup());

const fixture = (alpha: number) => fixtures.get(alpha) as { file: string; truth: KerasFixtureWeight[] };

async function build(raw: Record<string, unknown>, options: BuildOptions = {}, input = FER_INPUT) {
  return mobilenetv2.build(parseParams('mobilenetv2', raw), input, options);
}

async function buildError(raw: Record<string, unknown>, options: BuildOptions = {}): Promise<ModelError> {
  const before = tf.memory().numTensors;
  const err = await build(raw, options).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelError);
  expect(tf.memory().numTensors).toBe(before);
  return err as ModelError;
}

describe('keras HDF5 weight files', () => {
  it('reads the layout keras writes: layer_names in model order, weight_names per layer, attributes', async () => {
    const file = await readKerasWeights(await readFile(fixture(0.35).file), 'fixture');
    expect(file.backend).toBe('tensorflow');
    expect(file.kerasVersion).toBe('2.2.4');
    expect(file.layers.slice(0, 4).map((l) => l.name)).toEqual(['input_1', 'Conv1', 'bn_Conv1', 'Conv1_relu']);
    expect(file.layers.find((l) => l.name === 'block_1_pad')?.weights).toEqual([]);
    const bn = file.layers.find((l) => l.name === 'block_16_project_BN');
    expect(bn?.weights.map((w) => [w.name, w.param, w.shape])).toEqual([
      ['block_16_project_BN/gamma:0', 'gamma', [112]],
      ['block_16_project_BN/beta:0', 'beta', [112]],
      ['block_16_project_BN/moving_mean:0', 'moving_mean', [112]],
      ['block_16_project_BN/moving_variance:0', 'moving_variance', [112]],
    ]);
    expect(inferMobileNetV2Alpha(file, 'fixture')).toBe(0.35);
  });

  it('plans exactly the weights the builder creates, for every published alpha', async () => {
    for (const alpha of MOBILENETV2_ALPHAS) {
      const { model } = await build({ alpha });
      const built = mobileNetV2BaseLayers(model)
        .filter((l) => l.weights.length > 0)
        .map((l) => ({
          layer: l.name,
          weights: l.weights.map((w) => ({ param: w.originalName.split('/').pop(), shape: w.shape })),
        }));
      expect(built).toEqual(mobileNetV2WeightPlan(alpha));
      disposeModel(model);
    }
  });

  it.each([0.35, 1.3])('loads every weight of an α %s file bit for bit into its variable', async (alpha) => {
    const before = tf.memory().numTensors;
    const { file, truth } = fixture(alpha);
    const { model, pretrained, notes } = await build({ alpha, inputSize: 96, pretrained: file });
    const values = weightValues(model);
    for (const w of truth) {
      const loaded = values.get(`${w.layer}/${w.param}`);
      expect([w.layer, w.param, loaded?.length]).toEqual([w.layer, w.param, w.values.length]);
      expect(bytesOf(loaded as Float32Array).equals(bytesOf(w.values))).toBe(true);
    }
    expect(new Set(truth.map((w) => w.layer)).size).toBe(104);
    expect(pretrained?.loaded).toHaveLength(104);
    expect(pretrained?.skipped).toEqual([{ layer: 'predictions', reason: 'head: trained from scratch' }]);
    expect(pretrained?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(notes[0]).toMatch(/^mobilenetv2: keras weights .* loaded into 104 of 104 base layers with weights$/);
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads a whole-model file (weights under model_weights, layer_names chunked) the same way', async () => {
    const file = path.join(dir, 'whole.h5');
    const truth = await writeKerasMobileNetV2Fixture(file, 0.35, 9, { wholeModel: true, chunkLayerNames: true });
    const { model } = await build({ alpha: 0.35, pretrained: pathToFileURL(file).href });
    const conv1 = weightValues(model).get('Conv1/kernel') as Float32Array;
    expect(bytesOf(conv1).equals(bytesOf(truthOf(truth, 'Conv1', 'kernel')))).toBe(true);
    disposeModel(model);
  });

  it('reads back what fersweep’s own Keras export writes (model.h5, weights under model_weights)', async () => {
    const { model } = await build({ alpha: 0.35, inputSize: 96, pretrained: fixture(0.35).file, head: [8] });
    const exported = path.join(dir, 'exported-model.h5');
    await exportKerasH5(model, exported);
    disposeModel(model);
    const again = await build({ alpha: 0.35, inputSize: 96, pretrained: exported });
    const values = weightValues(again.model);
    const differ = fixture(0.35).truth.filter(
      (w) => !bytesOf(values.get(`${w.layer}/${w.param}`) as Float32Array).equals(bytesOf(w.values)),
    );
    expect(differ).toEqual([]);
    // The head and the portable resize's frozen interpolation matrices are not base layers.
    expect(again.pretrained?.unused).toEqual(['head_dense_1', 'predictions', 'resize_height', 'resize_width']);
    disposeModel(again.model);
  });

  it('names the layer when a file lacks one or has a wrong shape, and the alpha when it is another', async () => {
    const missing = path.join(dir, 'missing.h5');
    await writeKerasMobileNetV2Fixture(missing, 0.35, 1, { drop: 'block_7_depthwise_BN' });
    const noLayer = await buildError({ alpha: 0.35, pretrained: missing });
    expect(noLayer.code).toBe('IncompatiblePretrained');
    expect(noLayer.message).toMatch(/block_7_depthwise_BN: no such layer in the file/);
    expect(noLayer.where.field).toBe('params.pretrained');

    const wrong = path.join(dir, 'wrong.h5');
    await writeKerasMobileNetV2Fixture(wrong, 0.35, 1, { wrongShape: 'block_12_project' });
    const badShape = await buildError({ alpha: 0.35, pretrained: wrong });
    expect(badShape.message).toMatch(/block_12_project: kernel is \[1, 1, 192, 33\] in the file but \[1, 1, 192, 32\]/);

    const other = await buildError({ alpha: 0.5, pretrained: fixture(0.35).file });
    expect(other.message).toMatch(/it is the file for α 0\.35: set params\.alpha to 0\.35/);

    const junk = path.join(dir, 'junk.h5');
    await writeFile(junk, 'not hdf5');
    const notHdf5 = await buildError({ alpha: 0.35, pretrained: junk });
    expect(notHdf5.code).toBe('InvalidArtifacts');
    expect(notHdf5.message).toMatch(/junk\.h5 is not a Keras HDF5 weight file: no HDF5 signature/);

    const truncated = path.join(dir, 'truncated.h5');
    await writeFile(truncated, (await readFile(fixture(0.35).file)).subarray(0, 1_000_000));
    const cut = await buildError({ alpha: 0.35, pretrained: truncated });
    expect(cut.code).toBe('InvalidArtifacts');
    expect(cut.message).toMatch(
      /truncated\.h5 is not a Keras HDF5 weight file: HDF5 cannot open it \(truncated file: eof = 1000000,[^\n]*\)$/,
    );

    const nowhere = await buildError({ alpha: 0.35, pretrained: path.join(dir, 'nowhere.h5') });
    expect([nowhere.code, nowhere.where.field]).toEqual(['InvalidParams', 'params.pretrained']);
  });
});

describe('pretrained: imagenet', () => {
  it('downloads keras’ file once, caches it in the store content-addressed, then reads the store', async () => {
    const name = kerasMobileNetV2FileName(0.35, 96);
    const bytes = await readFile(fixture(0.35).file);
    const server = await weightsServer(new Map([[name, bytes]]));
    const { store, dir: root, cleanup: done } = await tempStore();
    try {
      const options = { artifactRoot: pathToFileURL(root).href, kerasWeightsUrl: server.url };
      // 48 px (FER2013's side) takes the 96 px weights: keras publishes none for 48.
      const first = await build({ alpha: 0.35, pretrained: 'imagenet', freezeBase: true }, options);
      expect(server.requests).toEqual([name]);
      expect(first.notes[0]).toMatch(
        new RegExp(`ImageNet weights ${name} downloaded from ${server.url}/${name}, cached as`),
      );
      expect(first.notes[1]).toMatch(/keras publishes no 48 px weights/);
      const index = JSON.parse((await store.get(keys.kerasWeightsIndex(name))).toString()) as { sha256: string };
      expect((await store.get(keys.kerasWeights(index.sha256))).equals(bytes)).toBe(true);
      expect(first.pretrained?.sha256).toBe(index.sha256);
      disposeModel(first.model);

      // Second build: from the store, even with keras' URL unreachable.
      const second = await build(
        { alpha: 0.35, inputSize: 96, pretrained: 'imagenet' },
        { ...options, kerasWeightsUrl: await unreachableUrl() },
      );
      expect(server.requests).toEqual([name]);
      expect(second.notes[0]).toMatch(/from the store/);
      const conv1 = weightValues(second.model).get('Conv1/kernel') as Float32Array;
      expect(bytesOf(conv1).equals(bytesOf(truthOf(fixture(0.35).truth, 'Conv1', 'kernel')))).toBe(true);
      disposeModel(second.model);

      // An explicit URL of a .h5 file is fetched as it is (no store involved), and a 404 is named.
      // The server is on loopback, which a sweep's URL may reach only where the operator allows it.
      process.env.FERSWEEP_URL_PRIVATE_HOSTS = '127.0.0.1';
      const explicit = await build({ alpha: 0.35, pretrained: `${server.url}/${name}` });
      expect(explicit.notes[0]).toContain(`keras weights ${server.url}/${name} (sha256 ${index.sha256.slice(0, 12)}…)`);
      disposeModel(explicit.model);
      const notThere = await buildError({ alpha: 0.35, pretrained: `${server.url}/other.h5` });
      expect([notThere.code, notThere.message]).toEqual([
        'PretrainedUnavailable',
        `params.pretrained: cannot download ${server.url}/other.h5: HTTP 404 Not Found`,
      ]);
      delete process.env.FERSWEEP_URL_PRIVATE_HOSTS;

      // A stored copy whose bytes changed is refused, not loaded.
      await store.put(keys.kerasWeights(index.sha256), bytes.subarray(0, bytes.length - 1));
      const corrupt = await buildError({ alpha: 0.35, pretrained: 'imagenet' }, options);
      expect(corrupt.code).toBe('CorruptArtifacts');
    } finally {
      await server.close();
      await done();
    }
  });

  it('offline with no stored copy: one line saying which file to import where', async () => {
    const { dir: root, cleanup: done } = await tempStore();
    try {
      const artifactRoot = pathToFileURL(root).href;
      const err = await buildError(
        { alpha: 1.3, inputSize: 128, pretrained: 'imagenet' },
        { artifactRoot, kerasWeightsUrl: await unreachableUrl() },
      );
      const name = kerasMobileNetV2FileName(1.3, 128);
      expect(err.code).toBe('PretrainedUnavailable');
      expect(err.message).not.toMatch(/\n/);
      expect(err.message).toMatch(/ECONNREFUSED/);
      expect(err.message).toContain(`\`fersweep models import-keras ${name} --store ${artifactRoot}\``);
      // …and once imported, the same build finds it.
      const other = path.join(root, 'x');
      const truth = await writeKerasMobileNetV2Fixture(other, 1.3, 5);
      await storeKerasWeights(openStore(root), await readFile(other), name, 'import:x');
      const { model } = await build(
        { alpha: 1.3, inputSize: 128, pretrained: 'imagenet' },
        { artifactRoot, kerasWeightsUrl: await unreachableUrl() },
      );
      const last = weightValues(model).get('Conv_1_bn/moving_variance') as Float32Array;
      expect(bytesOf(last).equals(bytesOf(truthOf(truth, 'Conv_1_bn', 'moving_variance')))).toBe(true);
      disposeModel(model);
    } finally {
      await done();
    }
  });
});

describe('an ImageNet-frozen MobileNetV2 with a dense head', () => {
  it('trains only the head; the base, BatchNorm statistics included, stays bit-identical', async () => {
    const { xs, labels } = syntheticFaces(16, 3);
    const ys = labelTensor(labels, 7);
    const before = tf.memory().numTensors;
    const { model } = await build({
      alpha: 0.35,
      inputSize: 96,
      pretrained: fixture(0.35).file,
      freezeBase: true,
      head: [32, 16],
      dropout: 0.3,
    });
    expect(model.layers.slice(-6).map((l) => l.name)).toEqual([
      'head_pool',
      'head_dense_1',
      'head_dropout_1',
      'head_dense_2',
      'head_dropout_2',
      'predictions',
    ]);
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual([
      'head_dense_1/kernel',
      'head_dense_1/bias',
      'head_dense_2/kernel',
      'head_dense_2/bias',
      'predictions/kernel',
      'predictions/bias',
    ]);
    // Keras semantics: the frozen base's BatchNorm normalises with its moving statistics even in a training
    // step, so (with dropout off) a training-mode forward pass equals inference.
    const [trainingMode, inference] = tf.tidy(() => {
      const saved = model.layers.filter((l) => l.name.startsWith('head_dropout')) as unknown as { rate: number }[];
      const rates = saved.map((l) => l.rate);
      saved.forEach((l) => (l.rate = 0));
      const out = [
        (model.apply(xs, { training: true }) as tf.Tensor).dataSync(),
        (model.predict(xs) as tf.Tensor).dataSync(),
      ];
      saved.forEach((l, i) => (l.rate = rates[i] as number));
      return out;
    });
    expect(Array.from(trainingMode as Float32Array).every((v, i) => Math.abs(v - (inference?.[i] ?? NaN)) < 1e-5)).toBe(
      true,
    );
    const start = weightValues(model);
    await model.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0 });
    const after = weightValues(model);
    const changed = [...start]
      .filter(([n, v]) => !bytesOf(v).equals(bytesOf(after.get(n) as Float32Array)))
      .map(([n]) => n);
    expect(changed.sort()).toEqual(model.trainableWeights.map((w) => w.originalName).sort());
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });
});
