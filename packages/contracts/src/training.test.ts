import { describe, expect, it } from '@jest/globals';
import { epochRecordOf, EpochRecord, TrialEpoch } from './events.js';
import { SweepSpec } from './sweep.js';
import { trainingOf, TRAINING_FIELDS, TrialSpec } from './trial.js';

describe('TrainingSpec, shared by sweeps and trials', () => {
  it("keeps a trial's JSON in its field order (the Job's trial-spec-sha256 hashes that JSON)", () => {
    const trial = TrialSpec.parse({
      bus: { kind: 'none' },
      evaluate: ['val', 'test'],
      maxTrainImages: 100,
      reduceLrOnPlateau: {},
      earlyStopping: {},
      augmentation: { horizontalFlip: true },
      replicate: 1,
      seed: 7,
      epochs: 3,
      output: 'file:///out',
      dataset: 'file:///data',
      model: 'cnn',
      variant: 'cnn',
      trial: 'cnn-0',
      sweep: 's',
    });
    expect(Object.keys(trial)).toEqual([
      'apiVersion',
      'kind',
      'sweep',
      'trial',
      'variant',
      'model',
      'params',
      'dataset',
      'output',
      'epochs',
      'batchSize',
      'seed',
      'replicate',
      'augmentation',
      'earlyStopping',
      'reduceLrOnPlateau',
      'maxTrainImages',
      'preciseBatchNorm',
      'evaluate',
      'samplePredictions',
      'bus',
    ]);
  });

  it("copies a sweep's recipe into a trial: what the sweep set, nothing it left unset", () => {
    const sweep = SweepSpec.parse({
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: 's' },
      spec: {
        dataset: 'file:///data',
        epochs: 5,
        earlyStopping: { patience: 2 },
        variants: [{ name: 'cnn', model: 'cnn' }],
      },
    });
    const recipe = trainingOf(sweep.spec);
    expect(Object.keys(recipe).every((k) => (TRAINING_FIELDS as readonly string[]).includes(k))).toBe(true);
    expect(recipe).toEqual({
      epochs: 5,
      batchSize: 64,
      seed: 42,
      earlyStopping: { monitor: 'valAccuracy', patience: 2, minDelta: 0, restoreBestWeights: true },
      evaluate: ['test'],
    });
    const trial = TrialSpec.parse({
      sweep: 's',
      trial: 'cnn',
      variant: 'cnn',
      model: 'cnn',
      dataset: 'd',
      output: 'o',
      ...recipe,
    });
    expect(trial.preciseBatchNorm).toEqual({ images: 256 });
    expect(trial).toMatchObject(recipe);
  });
});

describe('EpochRecord, shared by trial.epoch and the report', () => {
  it("is a trial.epoch event's metrics, in the event's order, without its envelope", () => {
    const metrics = {
      epoch: 2,
      loss: 1.5,
      accuracy: 0.4,
      valLoss: 1.6,
      valAccuracy: 0.35,
      learningRate: 0.001,
      imagesPerSecond: 120,
      seconds: 3,
    };
    const event = TrialEpoch.parse({
      id: 's.t.trial.epoch.2',
      sweep: 's',
      trial: 't',
      variant: 'v',
      attempt: 1,
      time: '2026-01-01T00:00:00.000Z',
      type: 'trial.epoch',
      ...metrics,
    });
    const record = epochRecordOf(event);
    expect(JSON.stringify(record)).toBe(JSON.stringify(metrics));
    expect(EpochRecord.parse(record)).toEqual(record);
  });
});
