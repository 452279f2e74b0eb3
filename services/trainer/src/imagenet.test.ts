import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { keys, TrialSpec } from '@fersweep/contracts';
import { createMemoryBus } from '@fersweep/messaging';
import {
  disposeModel,
  initTf,
  KERAS_WEIGHTS_URL_ENV,
  kerasMobileNetV2FileName,
  loadModel,
  type TfRuntime,
} from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { writeKerasMobileNetV2Fixture, type KerasFixtureWeight } from '@fersweep/testkit';
import { trainerWorkdir } from './testing/workdir.js';
import { runTrial } from './trainer.js';

let dir: string;
let runtime: TfRuntime;
let truth: KerasFixtureWeight[];
let server: http.Server;
const requests: string[] = [];
const name = kerasMobileNetV2FileName(0.35, 96);
const logger = createLogger({ service: 'trainer', silent: true });
const savedEnv = process.env[KERAS_WEIGHTS_URL_ENV];

beforeAll(async () => {
  runtime = await initTf({ prefer: 'wasm' });
  dir = await trainerWorkdir('imagenet');
  // keras' bucket, played by a loopback server holding a keras-layout file with random weights.
  truth = await writeKerasMobileNetV2Fixture(join(dir, name), 0.35, 21);
  const body = await readFile(join(dir, name));
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url?.endsWith(`/${name}`)) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env[KERAS_WEIGHTS_URL_ENV] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnv2`;
}, 120_000);
afterAll(async () => {
  if (savedEnv === undefined) delete process.env[KERAS_WEIGHTS_URL_ENV];
  else process.env[KERAS_WEIGHTS_URL_ENV] = savedEnv;
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const spec = (trial: string) =>
  TrialSpec.parse({
    sweep: 'ref',
    trial,
    variant: 'mobilenetv2',
    model: 'mobilenetv2',
    params: { alpha: 0.35, pretrained: 'imagenet', freezeBase: true, head: [16], dropout: 0.3 },
    dataset: `file://${dir}/data`,
    output: `file://${dir}/out`,
    epochs: 2,
    batchSize: 32,
    seed: 5,
    maxTrainImages: 96,
    augmentation: {
      rotationRange: 10,
      widthShiftRange: 0.1,
      heightShiftRange: 0.1,
      zoomRange: 0.1,
      horizontalFlip: true,
    },
  });

describe('a trial of an ImageNet-frozen MobileNetV2 (the reference study’s second model)', () => {
  it('downloads keras’ weights once into the artifact store, trains only the head, saves the base as loaded', async () => {
    const before = tf.memory().numTensors;
    const first = await runTrial({ spec: spec('mnv2-a'), openStore, bus: createMemoryBus(), logger, runtime });
    expect(tf.memory().numTensors).toBe(before);
    expect(requests).toEqual([`/mnv2/${name}`]);
    const out = openStore(`file://${dir}/out`);
    expect(await out.head(keys.kerasWeightsIndex(name))).toBeDefined();

    const modelStore = openStore(first.modelUri.replace(/\/$/, ''));
    const meta = JSON.parse((await modelStore.get('metadata.json')).toString()) as {
      preprocessing: { rescale: number; inModel: string[] };
    };
    expect(meta.preprocessing.rescale).toBeCloseTo(1 / 255);
    expect(meta.preprocessing.inModel).toEqual([
      expect.stringMatching(/^scale \[0, 1\] → \[-1, 1\]/),
      'grayscale → RGB (the channel repeated 3 times)',
    ]);
    // Every base weight — kernels and BatchNorm statistics — is the file's, bit for bit, after two epochs.
    const model = await loadModel(modelStore);
    const saved = new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
    disposeModel(model);
    const differ = truth.filter(({ layer, param, values }) => {
      const got = saved.get(`${layer}/${param}`);
      return got === undefined || !Buffer.from(got.buffer).equals(Buffer.from(values.buffer));
    });
    expect(differ.map((w) => `${w.layer}/${w.param}`)).toEqual([]);
    expect(first.history).toHaveLength(2);

    // Another trial on the same store reads the cached copy: no second download.
    await runTrial({ spec: spec('mnv2-b'), openStore, bus: createMemoryBus(), logger, runtime });
    expect(requests).toHaveLength(1);
  });
});
