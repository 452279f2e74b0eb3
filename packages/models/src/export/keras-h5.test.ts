import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { disposeModel } from '../variants/common.js';
import { syntheticFaces, useWasm } from '../variants/test-support.js';
import { exportKerasH5, KERAS_H5_VERSION } from './keras-h5.js';
import { argmaxRows, maxAbsDiff, python, slightlyTrained } from './test-support.js';

const REFERENCE = fileURLToPath(new URL('./keras_h5_reference.py', import.meta.url));

let dir: string;
beforeAll(async () => {
  await useWasm();
  dir = await mkdtemp(path.join(os.tmpdir(), 'fersweep-keras-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Everything Keras' HDF5 loader reads, as h5py reads it, with every weight's values. */
const READ_BACK = `
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
s = lambda v: v.decode("utf8") if hasattr(v, "decode") else str(v)
g = f["model_weights"]
layers = [s(n) for n in g.attrs["layer_names"]]
out = {
  "attrs": {k: s(f.attrs[k]) for k in ("keras_version", "backend")},
  "group_attrs": {k: s(g.attrs[k]) for k in ("keras_version", "backend")},
  "config": json.loads(s(f.attrs["model_config"])),
  "layers": layers,
  "weights": {},
}
for layer in layers:
  names = [s(n) for n in g[layer].attrs["weight_names"]]
  out["weights"][layer] = [[n, list(g[layer][n].shape), np.asarray(g[layer][n], dtype="<f4").tobytes().hex()] for n in names]
json.dump(out, open(sys.argv[2], "w"))
`;

interface ReadBack {
  attrs: Record<string, string>;
  group_attrs: Record<string, string>;
  config: { class_name: string; config: { layers: { name: string; class_name: string }[] } };
  layers: string[];
  weights: Record<string, [string, number[], string][]>;
}

const hex = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');

describe('Keras HDF5 export', () => {
  it.each([
    ['cnn', { width: 0.25 }],
    ['mobilenetv2', { alpha: 0.35, inputSize: 96 }],
  ] as const)(
    '%s reads back with h5py: Keras layout, every layer, weight name, shape and value',
    async (variant, params) => {
      const model = await slightlyTrained(variant, params);
      const file = path.join(dir, `${variant}.h5`);
      const before = tf.memory().numTensors;
      await exportKerasH5(model, file);
      expect(tf.memory().numTensors).toBe(before);
      expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
      const json = path.join(dir, `${variant}.json`);
      python(READ_BACK, file, json);
      const back = JSON.parse(await readFile(json, 'utf8')) as ReadBack;
      expect(back.attrs).toEqual({ keras_version: KERAS_H5_VERSION, backend: 'tensorflow' });
      expect(back.group_attrs).toEqual(back.attrs);
      expect(back.config.class_name).toBe('Functional');
      expect(back.config.config.layers.map((l) => [l.name, l.class_name])).toEqual(
        model.layers.map((l) => [l.name, l.getClassName()]),
      );
      expect(back.layers).toEqual(model.layers.map((l) => l.name));
      for (const layer of model.layers) {
        const values = layer.getWeights();
        expect([layer.name, back.weights[layer.name]]).toEqual([
          layer.name,
          layer.weights.map((w, i) => [
            `${layer.name}/${w.originalName.split('/').pop()}:0`,
            w.shape,
            hex(values[i]!.dataSync() as Float32Array),
          ]),
        ]);
      }
      disposeModel(model);
    },
  );

  it('leaves no file behind when the model cannot be written', async () => {
    const inputs = tf.input({ shape: [2] });
    const shared = tf.layers.dense({ units: 2 });
    const model = tf.model({ inputs, outputs: shared.apply(shared.apply(inputs)) as tf.SymbolicTensor });
    const file = path.join(dir, 'shared.h5');
    await expect(exportKerasH5(model, file)).rejects.toThrow(/used 2 times/);
    expect(await readdir(dir)).not.toContain('shared.h5');
    expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
    model.dispose();
  });
});

describe('the Keras HDF5 file, run by Keras semantics (numpy reference, no Keras here)', () => {
  it.each([
    ['cnn', { width: 0.25 }],
    ['mobilenetv2', { alpha: 0.35 }],
    ['mobilenetv2', { alpha: 0.5, inputSize: 96 }],
  ] as const)('%s %j computes what the tfjs model computes (|Δp| ≤ 1e-4, same top-1)', async (variant, params) => {
    const model = await slightlyTrained(variant, params);
    const file = path.join(dir, `ref-${variant}-${Object.values(params).join('-')}.h5`);
    await exportKerasH5(model, file);
    const { xs, ys } = syntheticFaces(16, 5);
    const expected = tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync() as Float32Array);
    await writeFile(`${file}.in`, xs.dataSync() as Float32Array);
    python(await readFile(REFERENCE, 'utf8'), file, `${file}.in`, JSON.stringify(xs.shape), `${file}.out`);
    const bytes = await readFile(`${file}.out`);
    const actual = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    tf.dispose([xs, ys]);
    disposeModel(model);
    expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-4);
    expect(argmaxRows(actual, 7)).toEqual(argmaxRows(expected, 7));
  });
});
