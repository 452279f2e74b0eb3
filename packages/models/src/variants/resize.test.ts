import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../io/store.js';
import { portableModel } from '../export/graph.js';
import { buildModel } from './registry.js';
import { applyResize, bilinearResizeMatrix } from './resize.js';
import { ResizeImages } from './resize-layer.js';
import { FER_INPUT, tempStore, useWasm } from './test-support.js';
import { disposeModel } from './common.js';

beforeAll(useWasm);

const STANDARD_LAYERS = ['InputLayer', 'Permute', 'Dense'];

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('the portable resize', () => {
  it('computes tfjs’ half-pixel bilinear resize (the legacy ResizeImages) with standard layers only', () => {
    const before = tf.memory().numTensors;
    for (const [h, w, height, width] of [
      [48, 48, 96, 96],
      [48, 48, 128, 128],
      [5, 7, 9, 3],
    ] as const) {
      const inputs = tf.input({ shape: [h, w, 2] });
      const model = tf.model({ inputs, outputs: applyResize(inputs, height, width) });
      expect(model.layers.map((l) => l.getClassName()).every((c) => STANDARD_LAYERS.includes(c))).toBe(true);
      expect(model.outputShape).toEqual([null, height, width, 2]);
      const x = tf.randomUniform([3, h, w, 2], 0, 1, 'float32', 4);
      const ours = model.predict(x) as tf.Tensor;
      const reference = tf.image.resizeBilinear(x as tf.Tensor4D, [height, width], false, true);
      expect(maxDiff(ours, reference)).toBeLessThan(1e-5);
      tf.dispose([x, ours, reference]);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has rows that sum to one and reads only neighbouring pixels', () => {
    const m = bilinearResizeMatrix(48, 128);
    for (let o = 0; o < 128; o++) {
      let sum = 0;
      const used: number[] = [];
      for (let i = 0; i < 48; i++) {
        sum += m[i * 128 + o]!;
        if (m[i * 128 + o] !== 0) used.push(i);
      }
      expect(sum).toBeCloseTo(1, 6);
      expect(used.length === 1 || (used.length === 2 && used[1]! - used[0]! === 1)).toBe(true);
    }
  });

  it('keeps MobileNetV2 at 96 px free of custom layers', async () => {
    const { model } = await buildModel('mobilenetv2', { alpha: 0.35, inputSize: 96 }, FER_INPUT);
    const classes = new Set(model.layers.map((l) => l.getClassName()));
    expect(classes.has('ResizeImages')).toBe(false);
    expect(model.getLayer('resize').outputShape).toEqual([null, 96, 96, 1]);
    // The resampling matrices never train.
    expect(model.trainableWeights.map((w) => w.originalName).filter((n) => n.startsWith('resize'))).toEqual([]);
    disposeModel(model);
  });

  it('still loads a model saved with the legacy ResizeImages layer, and rewrites it to the same function', async () => {
    const inputs = tf.input({ shape: [48, 48, 1], name: 'image' });
    let x = new ResizeImages({ name: 'resize', height: 96, width: 96 }).apply(inputs) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ name: 'conv', filters: 3, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
    const legacy = tf.model({ inputs, outputs: x });
    const { store, cleanup } = await tempStore();
    try {
      await saveModel(legacy, store);
      const loaded = await loadModel(store);
      const portable = portableModel(loaded);
      expect(portable.layers.map((l) => l.getClassName())).not.toContain('ResizeImages');
      const images = tf.randomUniform([2, 48, 48, 1], 0, 1, 'float32', 1);
      const [a, b, c] = [legacy, loaded, portable].map((m) => m.predict(images) as tf.Tensor);
      expect(maxDiff(a!, b!)).toBe(0);
      expect(maxDiff(a!, c!)).toBeLessThan(1e-5);
      tf.dispose([images, a!, b!, c!]);
      [legacy, loaded, portable].forEach((m) => m.dispose());
    } finally {
      await cleanup();
    }
  });
});
