import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { disposeModel } from '../variants/common.js';
import { ResizeImages } from '../variants/resize-layer.js';
import { syntheticFaces, useWasm } from '../variants/test-support.js';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from './onnx.js';
import { argmaxRows, maxAbsDiff, python, runOnnx, slightlyTrained } from './test-support.js';

let dir: string;
beforeAll(async () => {
  await useWasm();
  dir = await mkdtemp(path.join(os.tmpdir(), 'fersweep-onnx-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** What onnx.checker.check_model(full_check) says, plus the graph's interface as the onnx package reads it. */
const CHECK = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
print(json.dumps({
  "opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")],
  "inputs": [[v.name, dims(v)] for v in m.graph.input],
  "outputs": [[v.name, dims(v)] for v in m.graph.output],
  "metadata": {p.key: p.value for p in m.metadata_props},
  "ops": sorted({n.op_type for n in m.graph.node}),
}))
`;

/** Exports `model`, checks it with the official checker, runs 200 synthetic test faces through both runtimes. */
async function exportAndCompare(model: tf.LayersModel, name: string) {
  const bytes = exportOnnx(model, { metadata: { 'fersweep.preprocessing': 'test' } });
  const file = path.join(dir, `${name}.onnx`);
  await writeFile(file, bytes);
  const checked = JSON.parse(python(CHECK, file)) as {
    opset: number[];
    inputs: [string, (string | number)[]][];
    outputs: [string, (string | number)[]][];
    metadata: Record<string, string>;
    ops: string[];
  };
  const { xs, ys } = syntheticFaces(200, 99);
  const expected = tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync() as Float32Array);
  const actual = await runOnnx(file, ONNX_INPUT, xs.dataSync() as Float32Array, [...xs.shape], ONNX_OUTPUT);
  tf.dispose([xs, ys]);
  return { checked, expected, actual };
}

describe('ONNX export', () => {
  const cases: [string, 'cnn' | 'mobilenetv2', Record<string, unknown>][] = [
    ['cnn width 0.25', 'cnn', { width: 0.25 }],
    ['mobilenetv2 α0.35 at 48 px', 'mobilenetv2', { alpha: 0.35 }],
    ['mobilenetv2 α0.5 at 96 px', 'mobilenetv2', { alpha: 0.5, inputSize: 96 }],
    ['mobilenetv2 α0.35 at 128 px', 'mobilenetv2', { alpha: 0.35, inputSize: 128 }],
  ];
  it.each(cases)(
    '%s passes the onnx checker and matches tfjs in onnxruntime on 200 faces (top-1 and |Δp| ≤ 1e-4)',
    async (label, variant, params) => {
      const model = await slightlyTrained(variant, params);
      const before = tf.memory().numTensors;
      const { checked, expected, actual } = await exportAndCompare(model, label.replace(/\W+/g, '_'));
      expect(tf.memory().numTensors).toBe(before);
      disposeModel(model);
      expect(checked.opset[0]).toBeGreaterThanOrEqual(13);
      expect(checked.inputs).toEqual([[ONNX_INPUT, ['batch', 48, 48, 1]]]);
      expect(checked.outputs).toEqual([[ONNX_OUTPUT, ['batch', 7]]]);
      expect(checked.metadata).toEqual({ 'fersweep.preprocessing': 'test' });
      expect(checked.ops).not.toContain('Dropout');
      expect(actual).toHaveLength(200 * 7);
      expect(argmaxRows(actual, 7)).toEqual(argmaxRows(expected, 7));
      expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-4);
      // Not a degenerate model: its probabilities vary across the faces.
      expect(maxAbsDiff(expected.slice(7), expected.slice(0, -7))).toBeGreaterThan(1e-2);
    },
  );

  it('exports a legacy model (ResizeImages layer) through the portable resize, with the same outputs', async () => {
    const inputs = tf.input({ shape: [48, 48, 1], name: 'image' });
    let x = new ResizeImages({ name: 'resize', height: 72, width: 72 }).apply(inputs) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ name: 'conv', filters: 4, kernelSize: 3, strides: 2, padding: 'same' })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ name: 'predictions', units: 7, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs, outputs: x });
    const { checked, expected, actual } = await exportAndCompare(model, 'legacy');
    model.dispose();
    expect(checked.ops).toContain('MatMul');
    expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-4);
  });

  it('converts the other layers it knows (padding, dilation, average and max pooling, reshape, activations)', async () => {
    const inputs = tf.input({ shape: [48, 48, 1], name: 'image' });
    const seq = (x: tf.SymbolicTensor, ...layers: tf.layers.Layer[]) =>
      layers.reduce((t, l) => l.apply(t) as tf.SymbolicTensor, x);
    const init = (i: number) => tf.initializers.glorotUniform({ seed: i });
    const x = seq(
      inputs,
      tf.layers.zeroPadding2d({
        padding: [
          [1, 2],
          [0, 3],
        ],
      }),
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        dilationRate: 2,
        padding: 'same',
        activation: 'tanh',
        kernelInitializer: init(1),
      }),
      tf.layers.batchNormalization({ center: false, scale: false, movingVarianceInitializer: 'ones' }),
      tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.depthwiseConv2d({
        kernelSize: 5,
        strides: 2,
        depthMultiplier: 2,
        padding: 'same',
        useBias: true,
        depthwiseInitializer: init(2),
      }),
      tf.layers.activation({ activation: 'sigmoid' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    );
    const pooled = tf.layers.globalMaxPooling2d({}).apply(x) as tf.SymbolicTensor;
    const y = seq(
      pooled,
      tf.layers.reshape({ targetShape: [2, 4] }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 7, useBias: false, kernelInitializer: init(3) }),
      tf.layers.softmax(),
    );
    const model = tf.model({ inputs, outputs: y });
    const { expected, actual } = await exportAndCompare(model, 'mixed');
    model.dispose();
    expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a layer ONNX export does not know, naming it', () => {
    const inputs = tf.input({ shape: [4, 4, 1] });
    const y = tf.layers.upSampling2d({ name: 'up', size: [2, 2] }).apply(inputs) as tf.SymbolicTensor;
    const model = tf.model({ inputs, outputs: y });
    expect(() => exportOnnx(model)).toThrow(/cannot export layer up \(UpSampling2D\) to ONNX/);
    model.dispose();
  });
});
