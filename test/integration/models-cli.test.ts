/** `fersweep models list|pull` and `fersweep predict` on a model trained by the real trainer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { cli } from '../support/cli.js';
import { TrialSpec } from '@fersweep/contracts';
import { importDataset, renderFace, syntheticSource, imageRandom } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { initTf } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { runTrial } from '@fersweep/trainer';

let dir: string;
let face: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-models-cli-'));
  const runtime = await initTf({ prefer: 'wasm' });
  await importDataset({
    source: syntheticSource({ count: 300, seed: 9 }),
    store: openStore(`file://${dir}/store/datasets/d`),
    name: 'd',
    seed: 1,
    explore: false,
  });
  const bus = createMemoryBus();
  for (const trial of ['cnn-a', 'cnn-b']) {
    const spec = TrialSpec.parse({
      sweep: 'ms',
      trial,
      variant: trial,
      model: 'cnn',
      params: { width: 0.125, blocks: 2, denseUnits: 16 },
      dataset: `file://${dir}/store/datasets/d`,
      output: `file://${dir}/store`,
      epochs: 1,
      batchSize: 32,
    });
    await runTrial({ spec, openStore, bus, logger: createLogger({ service: 't', silent: true }), runtime });
  }
  await bus.close();
  // A happy face as a person would have it: an RGB JPEG of another size.
  face = join(dir, 'face.jpg');
  await sharp(Buffer.from(renderFace(3, imageRandom(1, 1))), { raw: { width: 48, height: 48, channels: 1 } })
    .resize(160, 160)
    .toColourspace('srgb')
    .jpeg()
    .toFile(face);
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('models and predict', () => {
  it('lists the trained models of a sweep with their test metrics', async () => {
    const r = await cli('models', 'list', 'ms', '--store', `file://${dir}/store`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/trial\s+model\s+test acc\s+macro F1\s+location/);
    expect(r.out).toMatch(/cnn-a\s+cnn\s+0\.\d{3}/);
  });

  it('pulls models with verified checksums; a corrupted weights file is refused', async () => {
    const out = join(dir, 'pulled');
    const r = await cli('models', 'pull', 'ms', '--out', out, '--store', `file://${dir}/store`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cnn-a: .*sha256 verified/);
    expect((await readdir(join(out, 'cnn-b'))).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);

    const weights = join(dir, 'store/sweeps/ms/trials/cnn-b/model/weights.bin');
    const bytes = await readFile(weights);
    bytes[10] = bytes[10]! ^ 0xff;
    await writeFile(weights, bytes);
    const bad = await cli(
      'models',
      'pull',
      'ms',
      '--trial',
      'cnn-b',
      '--out',
      join(dir, 'pulled2'),
      '--store',
      `file://${dir}/store`,
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/weights\.bin does not match its recorded sha256/);
  });

  it('predicts with several models side by side, from a local folder and an object-store URL', async () => {
    const r = await cli(
      'predict',
      '--model',
      join(dir, 'pulled', 'cnn-a'),
      '--model',
      `file://${dir}/store/sweeps/ms/trials/cnn-a/model`,
      face,
      '--json',
    );
    expect(r.err).toBe('');
    const res = JSON.parse(r.out) as {
      image: string;
      models: { model: string; top: string; probabilities: Record<string, number> }[];
    }[];
    expect(res).toHaveLength(1);
    expect(res[0]!.models).toHaveLength(2);
    const [a, b] = res[0]!.models;
    expect(Object.keys(a!.probabilities)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(Object.values(a!.probabilities).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
    expect(b!.probabilities).toEqual(a!.probabilities); // the same model, pulled or read in place
    const table = await cli('predict', '--model', join(dir, 'pulled', 'cnn-a'), face);
    expect(table.out).toMatch(/model\s+top\s+angry\s+disgust\s+fear\s+happy\s+sad\s+surprise\s+neutral/);
  });

  it.each([
    [['predict', '--model', '/nowhere', 'x.png'], /\/nowhere is not a fersweep model folder/],
    [['models', 'list', 'nope', '--store', '/tmp/none-here'], /no trained models for sweep 'nope'/],
  ])('%j fails with one clear line', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
  });

  it('names an unreadable image', async () => {
    const r = await cli('predict', '--model', join(dir, 'pulled', 'cnn-a'), join(dir, 'missing.png'));
    expect(r.err).toMatch(/cannot read image .*missing\.png: no such file/);
  });
});
