import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import type { ObjectStore } from '@fersweep/storage';
import { loadModel, saveModel } from '../io/store.js';
import { disposeModel } from './common.js';
import { applyFineTuning, mobilenetv2, mobileNetV2BaseLayers } from './mobilenetv2.js';
import { recompilePreservingOptimizer } from './recompile.js';
import { buildModel, parseParams } from './registry.js';
import { FER_INPUT, syntheticFaces, tempStore, useWasm, weightValues } from './test-support.js';

/** Adam's slots (tfjs-internal), to check that fine-tuning moved them with their variables. */
interface AdamState {
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  learningRate: number;
}

let store: ObjectStore;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await useWasm();
  ({ store, dir, cleanup } = await tempStore());
  // A "pretrained" α 0.35 base to start from: any saved model of the same family will do.
  const { model } = await mobilenetv2.build(parseParams('mobilenetv2', { alpha: 0.35 }), FER_INPUT, { seed: 5 });
  await saveModel(model, store.sub('source'));
  disposeModel(model);
});
afterAll(() => cleanup());

describe('fine-tuning a frozen MobileNetV2 base', () => {
  it('unfreezes the top layers after K epochs, keeping Adam’s state for the head and resuming from checkpoints', async () => {
    const { xs, ys } = syntheticFaces(8, 6);
    const before = tf.memory().numTensors;
    const params = parseParams('mobilenetv2', {
      alpha: 0.35,
      pretrained: `${dir}/source`,
      freezeBase: true,
      fineTuneAt: { epoch: 1, layers: 20, learningRate: 1e-4 },
    });
    const { model, notes } = await mobilenetv2.build(params, FER_INPUT);
    expect(notes.at(-1)).toBe('mobilenetv2: base frozen; its top 20 layers unfreeze after epoch 1');
    expect(applyFineTuning(model, params, 0)).toBe(false);
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });

    const adam = model.optimizer as unknown as AdamState;
    const headMoments = adam.accumulatedFirstMoment.map((s) => s.variable);
    expect(headMoments).toHaveLength(2);
    expect(applyFineTuning(model, params, 1)).toBe(true);
    const base = mobileNetV2BaseLayers(model);
    expect(base.slice(-20).every((l) => l.trainable)).toBe(true);
    expect(base.slice(0, -20).some((l) => l.trainable)).toBe(false);
    // The top 20 layers are block_15_expand … out_relu (ReLU and Add layers count, as in keras).
    expect(base.at(-20)?.name).toBe('block_15_expand');
    const trainable = model.trainableWeights.map((w) => w.originalName);
    expect(trainable[0]).toBe('block_15_expand/kernel');
    expect(trainable.slice(-3)).toEqual(['Conv_1_bn/beta', 'predictions/kernel', 'predictions/bias']);
    // Adam's slots follow their variables: the head keeps its moments, new ones start at zero.
    expect(adam.accumulatedFirstMoment).toHaveLength(trainable.length);
    expect(adam.accumulatedFirstMoment.slice(-2).map((s) => s.variable)).toEqual(headMoments);
    expect(tf.tidy(() => tf.abs(adam.accumulatedSecondMoment[0]!.variable).sum().dataSync()[0])).toBe(0);
    expect(adam.learningRate).toBe(1e-4);
    expect(model.optimizer.iterations).toBe(1);
    expect(applyFineTuning(model, params, 2)).toBe(false);

    const beforeStep = weightValues(model);
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const afterStep = weightValues(model);
    const moved = (name: string) => beforeStep.get(name)?.some((v, i) => v !== afterStep.get(name)?.[i]);
    expect(moved('Conv_1/kernel')).toBe(true);
    expect(moved('block_15_expand/kernel')).toBe(true);
    expect(moved('block_15_expand_BN/moving_mean')).toBe(true);
    expect(moved('block_14_project/kernel')).toBe(false);
    expect(moved('block_14_project_BN/moving_mean')).toBe(false);

    // A checkpoint taken after the switch comes back with the same trainable layers and optimizer state.
    await saveModel(model, store.sub('checkpoint'), { includeOptimizer: true });
    const resumed = await loadModel(store.sub('checkpoint'));
    expect(resumed.trainableWeights.map((w) => w.originalName)).toEqual(trainable);
    expect(applyFineTuning(resumed, params, 3)).toBe(false);
    expect(resumed.optimizer.iterations).toBe(2);
    await resumed.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    // Still frozen after loading: BatchNorm below the unfrozen top keeps its statistics.
    expect(resumed.getLayer('block_14_project_BN').getWeights()[2]?.dataSync()).toEqual(
      model.getLayer('block_14_project_BN').getWeights()[2]?.dataSync(),
    );
    disposeModel(model);
    disposeModel(resumed);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });

  it('recompiles after freezing layers too: the others keep their moments, the frozen ones’ are freed', async () => {
    const { xs, ys } = syntheticFaces(4, 8);
    const before = tf.memory().numTensors;
    const { model } = await buildModel('cnn', { width: 0.125, blocks: 2, denseUnits: 8 }, FER_INPUT);
    await model.trainOnBatch(xs, ys);
    const adam = model.optimizer as unknown as AdamState;
    const kept = adam.accumulatedFirstMoment.slice(2).map((s) => s.variable);
    const withSlots = tf.memory().numTensors;
    // block1_conv1 (kernel, bias) stops training. A plain recompile would leave Adam's slots by position, and the
    // next step would fail: "shape of the new value (3,3,8,8) and previous value (3,3,1,8) must match".
    model.getLayer('block1_conv1').trainable = false;
    recompilePreservingOptimizer(model);
    expect(adam.accumulatedFirstMoment.map((s) => s.variable)).toEqual(kept);
    expect(tf.memory().numTensors).toBe(withSlots - 4);
    await model.trainOnBatch(xs, ys);
    expect(model.optimizer.iterations).toBe(2);
    disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });
});
