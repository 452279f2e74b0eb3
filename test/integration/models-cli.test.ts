/** `fersweep models list|pull` and `fersweep predict` on a model trained by the real trainer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { parse as parseYaml } from 'yaml';
import { cli } from '../support/cli.js';
import { ASTRONAUT, groupPhoto, requireAstronaut } from '../support/photos.js';
import { TrialSpec } from '@fersweep/contracts';
import { importDataset, renderFace, syntheticSource, imageRandom } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { initTf } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { runTrial } from '@fersweep/trainer';

let dir: string;
let face: string;

interface Predictions {
  items: {
    image: string;
    width: number;
    height: number;
    detector: string | null;
    annotated?: string;
    faces: {
      box: { x: number; y: number; width: number; height: number };
      score: number | null;
      crop: { left: number; top: number; width: number; height: number };
      models: { model: string; top: string; probabilities: Record<string, number> }[];
    }[];
  }[];
}

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
    const json = await cli('models', 'list', 'ms', '--store', `file://${dir}/store`, '-o', 'json');
    const { items } = JSON.parse(json.out) as { items: Record<string, unknown>[] };
    const meta = JSON.parse(await readFile(join(dir, 'store/sweeps/ms/trials/cnn-a/model/metadata.json'), 'utf8'));
    expect(items.map((m) => m.trial).sort()).toEqual(['cnn-a', 'cnn-b']);
    // Each item is the model's metadata.json as stored, with where it lives.
    expect(items.find((m) => m.trial === 'cnn-a')).toEqual({
      ...meta,
      location: `file://${dir}/store/sweeps/ms/trials/cnn-a/model/`,
    });
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

  it('predicts a face crop with several models side by side, from a local folder and an object-store URL', async () => {
    const r = await cli(
      'predict',
      '--model',
      join(dir, 'pulled', 'cnn-a'),
      '--model',
      `file://${dir}/store/sweeps/ms/trials/cnn-a/model`,
      face,
      '--no-detect',
      '--json',
    );
    expect(r.err).toBe('');
    const res = (JSON.parse(r.out) as Predictions).items;
    expect(res).toHaveLength(1);
    expect(res[0]).toMatchObject({ detector: null, width: 160, height: 160 });
    expect(res[0]!.faces).toHaveLength(1);
    expect(res[0]!.faces[0]!.score).toBeNull();
    expect(res[0]!.faces[0]!.models).toHaveLength(2);
    const [a, b] = res[0]!.faces[0]!.models;
    expect(Object.keys(a!.probabilities)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(Object.values(a!.probabilities).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
    expect(b!.probabilities).toEqual(a!.probabilities); // the same model, pulled or read in place
    const table = await cli('predict', '--model', join(dir, 'pulled', 'cnn-a'), face, '--no-detect');
    expect(table.out).toMatch(
      /face\s+box\s+score\s+model\s+top\s+angry\s+disgust\s+fear\s+happy\s+sad\s+surprise\s+neutral/,
    );
  });

  it("finds the face in a real photograph, prints every model's emotions for it, and draws the box", async () => {
    await requireAstronaut();
    const before = tf.memory().numTensors;
    const annotated = join(dir, 'astronaut.annotated.png');
    const r = await cli(
      'predict',
      ASTRONAUT,
      '--model',
      join(dir, 'pulled', 'cnn-a'),
      '--model',
      join(dir, 'pulled', 'cnn-b'),
      '--annotate',
      annotated,
      '-o',
      'json',
    );
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(tf.memory().numTensors).toBe(before); // models, detector and every batch disposed
    const [photo] = (JSON.parse(r.out) as Predictions).items;
    expect(photo).toMatchObject({ image: ASTRONAUT, width: 512, height: 512, detector: 'ssd', annotated });
    expect(photo!.faces).toHaveLength(1);
    const f = photo!.faces[0]!;
    expect(f.score).toBeGreaterThan(0.9);
    expect(f.box.x).toBeGreaterThan(150);
    expect(f.box.x + f.box.width).toBeLessThan(300);
    expect(f.box.y + f.box.height).toBeLessThan(200);
    // The square cut out holds the box with its margin.
    expect(f.crop.width).toBe(f.crop.height);
    expect(f.crop.left).toBeLessThanOrEqual(f.box.x);
    expect(f.crop.top + f.crop.height).toBeGreaterThanOrEqual(f.box.y + f.box.height);
    expect(f.models.map((m) => m.model)).toEqual(['cnn-a', 'cnn-b']);
    for (const m of f.models) {
      expect(Object.keys(m.probabilities)).toHaveLength(7);
      expect(Object.values(m.probabilities).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
    }
    // The annotated PNG is the photo with a green box where the face is.
    const { data, info } = await sharp(annotated).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([512, 512]);
    const at = (x: number, y: number) =>
      Array.from(data.subarray((y * 512 + x) * info.channels, (y * 512 + x) * info.channels + 3));
    const edge = at(Math.round(f.box.x), Math.round(f.box.y + f.box.height / 2));
    expect(edge[1]).toBeGreaterThan(200);
    expect(edge[0]).toBeLessThan(60);

    const table = await cli('predict', ASTRONAUT, '--model', join(dir, 'pulled', 'cnn-a'));
    expect(table.out).toMatch(/astronaut\.png \(512×512\): 1 face \(ssd\)/);
    expect(table.out).toMatch(
      /1\s+\d+,\d+ \d+×\d+\s+0\.9\d\s+cnn-a\s+(angry|disgust|fear|happy|sad|surprise|neutral)\s+0\.\d{3}/,
    );
  });

  it('finds every face of a group photo, says so when there is none (exit 0, empty list), takes 48×48 crops whole', async () => {
    await requireAstronaut();
    const group = await groupPhoto(join(dir, 'group.jpg'), 3);
    const empty = join(dir, 'sky.png');
    await sharp({ create: { width: 400, height: 300, channels: 3, background: '#3a6ea5' } })
      .png()
      .toFile(empty);
    const crop = join(dir, 'crop.png');
    await sharp(Buffer.from(renderFace(3, imageRandom(2, 2))), { raw: { width: 48, height: 48, channels: 1 } })
      .png()
      .toFile(crop);
    const out = join(dir, 'annotated');
    const r = await cli(
      'predict',
      group,
      empty,
      crop,
      '--model',
      join(dir, 'pulled', 'cnn-a'),
      '-o',
      'yaml',
      '--annotate',
      out,
    );
    expect(r.code).toBe(0);
    const [g, e, c] = (parseYaml(r.out) as Predictions).items;
    expect(g!.faces).toHaveLength(3);
    expect(g!.faces.map((f) => Math.floor((f.box.x + f.box.width / 2) / 320)).sort()).toEqual([0, 1, 2]);
    expect(e!.faces).toEqual([]);
    expect(r.err).toMatch(/sky\.png: no face found; for a face crop, pass --no-detect/);
    expect(c).toMatchObject({ detector: null, width: 48, height: 48 });
    expect(c!.faces).toHaveLength(1);
    expect((await readdir(out)).sort()).toEqual(['crop.annotated.png', 'group.annotated.png', 'sky.annotated.png']);

    const none = await cli('predict', empty, '--model', join(dir, 'pulled', 'cnn-a'));
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/sky\.png \(400×300\): no face found \(ssd detector, --min-score 0\.5\)/);
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
