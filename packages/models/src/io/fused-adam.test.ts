import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { FusedAdamOptimizer, registerWasmTrainingKernels } from '@fersweep/tfjs-train-wasm';
import { artifactsFromModel, modelFromArtifacts } from './artifacts.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

describe('FusedAdamOptimizer', () => {
  it('is what a model saved with its training config comes back compiled with', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    model.compile({ optimizer: new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7), loss: 'meanSquaredError' });
    // fersweep's checkpoint format: topology, weights, training config and optimizer state.
    const loaded = await modelFromArtifacts(await artifactsFromModel(model, { includeOptimizer: true }));
    // Not toBeInstanceOf: tfjs' Optimizer answers instanceof by duck typing (any optimizer passes).
    expect(loaded.optimizer.constructor).toBe(FusedAdamOptimizer);
    expect(loaded.optimizer.getClassName()).toBe('Adam');
    model.dispose();
    loaded.dispose();
  });
});
