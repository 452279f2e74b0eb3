import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@fersweep/tfjs-train-wasm';
import { randomArray, relativeError } from '@fersweep/tfjs-train-wasm/testing';
import { adaptLayers } from './common.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

/** input → weightless layer → Conv2D (linear, bias, stride 2) → Conv2D (ReLU) → BatchNorm → pooled Dense. */
function model(adapted: boolean): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  const rgb = tf.layers.concatenate({ axis: -1 }).apply([input, input, input]) as tf.SymbolicTensor;
  let x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'first' })
    .apply(rgb) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'second' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'head' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  // Non-trainable weights come last in getWeights(); the moving variance must stay positive.
  m.setWeights(
    m.getWeights().map((t, i) => {
      const variance = m.weights[i]?.name.includes('moving_variance') === true;
      return tf.tensor(randomArray(t.size, 60 + i, variance ? 1.5 : 0), t.shape);
    }),
  );
  if (adapted) adaptLayers(m);
  return m;
}

/** Loss and the gradient of every trainable weight for one training-mode forward pass, and the kernels it ran. */
async function step(m: tf.LayersModel): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const x = tf.tensor(randomArray(4 * 64, 70), [4, 8, 8, 1]);
  let values: Float32Array[] = [];
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
    );
    values = [value, ...m.trainableWeights.map((w) => grads[w.originalName] ?? grads[w.name])].map(
      (t) => (t as tf.Tensor).dataSync() as Float32Array,
    );
    tf.dispose([value, ...Object.values(grads)]);
  });
  x.dispose();
  return { values, kernels: profile.kernels.map((k) => `${k.name} ${JSON.stringify(k.inputShapes)}`) };
}

describe('adaptLayers', () => {
  it('trains the first convolution without its unused input gradient, with the same gradients', async () => {
    const stock = await step(model(false));
    const adapted = await step(model(true));
    expect(adapted.values.length).toBe(stock.values.length);
    // 5e-4: the second conv's bias gradient reaches it through BatchNorm, which cancels its mean; what is left is
    // small, and float32 rounding differences (another summation order in the BatchNorm op) weigh more.
    stock.values.forEach((want, i) =>
      expect(relativeError(adapted.values[i] as Float32Array, want)).toBeLessThan(5e-4),
    );
    const firstInputGrad = (kernels: string[]): number =>
      kernels.filter((k) => k.startsWith('Conv2DBackpropInput') && k.includes('[3,3,3,8]')).length;
    expect(firstInputGrad(stock.kernels)).toBe(1);
    expect(firstInputGrad(adapted.kernels)).toBe(0);
    // The second convolution still gets its input gradient: the first one's weights need it.
    expect(adapted.kernels.some((k) => k.startsWith('Conv2DBackpropInput') && k.includes('[3,3,8,4]'))).toBe(true);
  });

  it('is idempotent and leaves inference alone', async () => {
    const m = model(true);
    adaptLayers(m);
    const x = tf.tensor(randomArray(2 * 64, 71), [2, 8, 8, 1]);
    const y = tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync() as Float32Array);
    const ref = model(false);
    const want = tf.tidy(() => (ref.predict(x) as tf.Tensor).dataSync() as Float32Array);
    expect(relativeError(y, want)).toBeLessThan(1e-5);
    tf.dispose([x]);
    m.dispose();
    ref.dispose();
  });

  it('runs ReLU(maxValue 6) as one Relu6 op with the same output and gradient', async () => {
    const build = (adapted: boolean): tf.LayersModel => {
      const input = tf.input({ shape: [4, 4, 8] });
      const y = tf.layers.reLU({ maxValue: 6 }).apply(input) as tf.SymbolicTensor;
      const m = tf.model({ inputs: input, outputs: y });
      if (adapted) adaptLayers(m);
      return m;
    };
    const xv = randomArray(2 * 4 * 4 * 8, 72).map((v) => v * 8);
    xv[0] = 0;
    xv[1] = 6;
    const run = async (m: tf.LayersModel): Promise<{ values: Float32Array[]; kernels: string[] }> => {
      let values: Float32Array[] = [];
      const profile = await tf.profile(() => {
        const x = tf.tensor(xv, [2, 4, 4, 8]);
        const g = tf.tensor(randomArray(xv.length, 73), [2, 4, 4, 8]);
        const f = (a: tf.Tensor): tf.Tensor => tf.sum(tf.mul(m.apply(a, { training: true }) as tf.Tensor, g));
        const y = m.apply(x, { training: true }) as tf.Tensor;
        const dx = tf.grad(f)(x);
        values = [y, dx].map((t) => t.dataSync() as Float32Array);
        tf.dispose([x, g, y, dx]);
      });
      return { values, kernels: profile.kernels.map((k) => k.name) };
    };
    const stock = await run(build(false));
    const adapted = await run(build(true));
    stock.values.forEach((want, i) => expect(adapted.values[i]).toEqual(want));
    expect(stock.kernels).toContain('ClipByValue');
    expect(adapted.kernels).toContain('Relu6');
    expect(adapted.kernels).not.toContain('ClipByValue');
  });
});
