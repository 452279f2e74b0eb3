import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildModel, disposeModel, initTf, saveModel } from '@fersweep/models';
import { openStore } from '@fersweep/storage';
import { cli } from './testing/cli.js';

let dir: string;
const PREPROCESSING = { grayscale: 'ITU-R BT.601 luma', resize: '48x48, centre crop, Lanczos', rescale: 1 / 255 };

beforeAll(async () => {
  await initTf({ prefer: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'fersweep-export-'));
  // Two trials of sweep 'sw' as the trainer leaves them: model.json + weights.bin, then metadata.json.
  for (const [trial, model, params] of [
    ['cnn', 'cnn', { width: 0.125, blocks: 2, denseUnits: 16 }],
    ['mnv2', 'mobilenetv2', { alpha: 0.35, inputSize: 96 }],
  ] as const) {
    const built = await buildModel(model, params, { height: 48, width: 48, channels: 1, numClasses: 7 }, { seed: 1 });
    const store = openStore(`file://${dir}/root`).sub(`sweeps/sw/trials/${trial}/model`);
    const saved = await saveModel(built.model, store);
    disposeModel(built.model);
    const metadata = {
      format: 'fersweep-model/v1',
      sweep: 'sw',
      trial,
      model,
      labels: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
      input: { height: 48, width: 48, channels: 1 },
      preprocessing: PREPROCESSING,
      metrics: { test: { accuracy: 0.5, macroF1: 0.4 } },
      files: saved.files,
    };
    await store.put('metadata.json', JSON.stringify(metadata));
  }
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function python(code: string, ...args: string[]): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('fersweep models export', () => {
  it('writes every trial of a sweep as ONNX that passes the checker, with the preprocessing in metadata_props', async () => {
    const res = await cli(
      'models',
      'export',
      'sw',
      '--format',
      'onnx',
      '--out',
      join(dir, 'onnx'),
      '--store',
      `file://${dir}/root`,
    );
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toMatch(/^cnn: .*model\.onnx, .*metadata\.json \(onnx\)$/m);
    expect((await readdir(join(dir, 'onnx'))).sort()).toEqual(['cnn', 'mnv2']);
    const props = JSON.parse(
      python(
        'import sys, json, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); ' +
          'print(json.dumps({p.key: p.value for p in m.metadata_props}))',
        join(dir, 'onnx', 'mnv2', 'model.onnx'),
      ),
    ) as Record<string, string>;
    expect(props['preprocessing']).toMatch(/float32 NHWC \[batch, 48, 48, 1\], grayscale .*× 0\.0039/);
    expect(JSON.parse(props['fersweep.preprocessing']!)).toEqual(PREPROCESSING);
    expect(JSON.parse(props['fersweep.labels']!)).toHaveLength(7);
    const meta = JSON.parse(await readFile(join(dir, 'onnx', 'mnv2', 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({ trial: 'mnv2', export: { format: 'onnx', file: 'model.onnx' } });
    expect(meta.files.map((f: { key: string }) => f.key)).toEqual(['model.onnx']);
  }, 120_000);

  it('writes one trial as Keras HDF5 and a model folder as portable tfjs', async () => {
    const keras = await cli(
      'models',
      'export',
      'sw',
      '--trial',
      'cnn',
      '--format',
      'keras',
      '--out',
      join(dir, 'k'),
      '--store',
      `file://${dir}/root`,
    );
    expect(keras).toMatchObject({ code: 0, err: '' });
    const names = python(
      'import sys, h5py; f = h5py.File(sys.argv[1]); print(",".join(n.decode() if hasattr(n, "decode") else n for n in f["model_weights"].attrs["layer_names"]))',
      join(dir, 'k', 'cnn', 'model.h5'),
    );
    expect(names.trim().split(',').slice(0, 2)).toEqual(['image', 'block1_conv1']);

    const tfjs = await cli(
      'models',
      'export',
      '--model',
      `${dir}/root/sweeps/sw/trials/mnv2/model`,
      '--format',
      'tfjs',
      '--out',
      join(dir, 't'),
    );
    expect(tfjs).toMatchObject({ code: 0, err: '' });
    expect((await readdir(join(dir, 't'))).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    const topology = JSON.parse(await readFile(join(dir, 't', 'model.json'), 'utf8'));
    expect(topology.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).not.toContain(
      'ResizeImages',
    );
  }, 120_000);

  it('refuses a sweep and --model together, an unknown trial, and an unknown format', async () => {
    const both = await cli('models', 'export', 'sw', '--model', 'x', '--format', 'onnx', '--out', join(dir, 'o'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either a sweep id or --model/);
    const trial = await cli(
      'models',
      'export',
      'sw',
      '--trial',
      'nope',
      '--format',
      'onnx',
      '--out',
      join(dir, 'o'),
      '--store',
      `file://${dir}/root`,
    );
    expect(trial.code).toBe(2);
    expect(trial.err).toMatch(/no trained model for trial 'nope' in sweep 'sw'/);
    const format = await cli('models', 'export', 'sw', '--format', 'pt', '--out', join(dir, 'o'));
    expect(format.code).not.toBe(0);
    expect(format.err).toMatch(/Allowed choices are onnx, keras, tfjs/);
  });
});
