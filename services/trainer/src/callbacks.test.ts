import { describe, expect, it } from '@jest/globals';
import { EarlyStopping, ReduceLrOnPlateau } from '@fersweep/contracts';
import { afterEpoch, initialCallbackState, type CallbackState } from './callbacks.js';

const run = (valAcc: number[], valLoss: number[], early?: object, plateau?: object) => {
  let state: CallbackState = initialCallbackState(0.01);
  const out: { stop: boolean; lr: number; best: number }[] = [];
  valAcc.forEach((va, i) => {
    const r = afterEpoch(
      state,
      i + 1,
      { loss: 1, accuracy: 0.5, valLoss: valLoss[i]!, valAccuracy: va },
      early ? EarlyStopping.parse(early) : undefined,
      plateau ? ReduceLrOnPlateau.parse(plateau) : undefined,
    );
    state = r.state;
    out.push({ stop: r.stop, lr: state.learningRate, best: state.stopBestEpoch });
  });
  return out;
};

describe('EarlyStopping (Keras semantics)', () => {
  it('stops after `patience` epochs without improvement of valAccuracy and remembers the best epoch', () => {
    const r = run([0.3, 0.5, 0.49, 0.5, 0.48], [1, 1, 1, 1, 1], { monitor: 'valAccuracy', patience: 3 });
    expect(r.map((x) => x.stop)).toEqual([false, false, false, false, true]);
    expect(r[4]!.best).toBe(2);
  });
  it('treats losses as improving downwards and honours minDelta', () => {
    const r = run([0, 0, 0, 0], [1.0, 0.95, 0.949, 0.948], { monitor: 'valLoss', patience: 2, minDelta: 0.01 });
    expect(r.map((x) => x.stop)).toEqual([false, false, false, true]);
    expect(r[3]!.best).toBe(2);
  });
  it('tracks the best epoch even without early stopping configured, and never stops', () => {
    const r = run([0.2, 0.6, 0.4, 0.3, 0.1], [1, 1, 1, 1, 1]);
    expect(r.every((x) => !x.stop)).toBe(true);
    expect(r[4]!.best).toBe(2);
  });
});

describe('ReduceLROnPlateau (Keras semantics)', () => {
  it('multiplies the rate by factor after patience stalled epochs, then waits cooldown', () => {
    const r = run([0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1], undefined, {
      monitor: 'valLoss',
      factor: 0.5,
      patience: 2,
      cooldown: 1,
    });
    // Keras: epoch 4 is the cooldown epoch, which still counts towards the next wait (in_cooldown resets wait, then it grows).
    expect(r.map((x) => x.lr)).toEqual([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125]);
  });
  it('never goes below minLearningRate', () => {
    const r = run([0, 0, 0, 0, 0], [1, 1, 1, 1, 1], undefined, { factor: 0.1, patience: 1, minLearningRate: 0.0005 });
    expect(r[r.length - 1]!.lr).toBe(0.0005);
  });
});
