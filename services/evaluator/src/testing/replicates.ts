/**
 * A synthetic sweep with a search and seed replicates, every number checkable by hand: two
 * variants × two learning rates × k seeds on a 100-image test split (accuracy = images right / 100).
 *
 * - cnn lr 0.01 has the better validation (0.62) and is selected; cnn lr 0.001 has worse validation
 *   (0.55) but BETTER test accuracy (0.70): a report that selected on test would pick it.
 * - mobilenet lr 0.01 is stopped by ASHA at rung 1 (epoch 1) in every seed: not eligible.
 * - mobilenet lr 0.001 (val 0.45) is its selected configuration.
 */
import { EMOTIONS, type TrialEvent } from '@fersweep/contracts';
import { evaluatedBody, event } from './fixtures.js';

/** 100 test images, labels cycling through the 7 emotions. */
export const TEST_LABELS = Array.from({ length: 100 }, (_, i) => i % EMOTIONS.length);

/** Predictions right on the first `correct` images and wrong (the next emotion) on the rest. */
export function predictionsWith(correct: number): number[] {
  return TEST_LABELS.map((label, i) => (i < correct ? label : (label + 1) % EMOTIONS.length));
}

/** Test images right per seed of each configuration (index = replicate). */
export const CORRECT = {
  cnnSelected: [65, 64, 67, 66, 64],
  cnnOther: [70, 71, 70, 69, 72],
  mobilenetSelected: [44, 45, 43, 46, 44],
};

export interface ReplicateSweepOptions {
  /** Seeds per configuration (1–5). Default 5. */
  k?: number;
  /** Leave the `replicate` field off (a sweep without replicates, one seed). */
  noReplicateField?: boolean;
  /** Override cnn's selected configuration's test images right, per seed. */
  cnnSelected?: number[];
}

const epochBody = (epoch: number, valAccuracy: number) => ({
  epoch,
  loss: 1 / epoch,
  accuracy: Math.min(1, valAccuracy + 0.1),
  valLoss: 1.5 - valAccuracy,
  valAccuracy,
  learningRate: 0.001,
  imagesPerSecond: 100,
  seconds: 10,
});

/** The events of the whole sweep. Trial ids: `<variant>-<config 0|1>-r<replicate>`. */
export function replicateSweep(sweep: string, options: ReplicateSweepOptions = {}): TrialEvent[] {
  const k = options.k ?? 5;
  const out: TrialEvent[] = [];
  const trial = (
    variant: string,
    model: string,
    config: number,
    learningRate: number,
    r: number,
    valAccuracy: number,
    correct: number | 'stopped',
  ) => {
    const id = `${variant}-${config}-r${r}`;
    const over = { variant };
    out.push(
      event(
        sweep,
        id,
        'trial.started',
        {
          model,
          params: { learningRate, width: 32 },
          epochs: 3,
          backend: 'cpu',
          device: 'cpu',
          datasetSha256: 'f'.repeat(64),
          trainImages: 700,
          parameterCount: 1000,
          resumedFromEpoch: 0,
          seed: 42 + r,
          ...(options.noReplicateField ? {} : { replicate: r }),
        },
        over,
      ),
    );
    if (correct === 'stopped') {
      out.push(event(sweep, id, 'trial.epoch', epochBody(1, valAccuracy), over));
      out.push(
        event(
          sweep,
          id,
          'trial.stopped',
          { epoch: 1, rung: 1, threshold: 0.4, reason: 'asha: below the top 1/3 at rung 1' },
          over,
        ),
      );
      return;
    }
    for (let e = 1; e <= 3; e++)
      out.push(event(sweep, id, 'trial.epoch', epochBody(e, valAccuracy - (3 - e) * 0.05), over));
    out.push(
      event(sweep, id, 'trial.evaluated', evaluatedBody('test', TEST_LABELS, predictionsWith(correct), [0, 1]), over),
    );
    out.push(
      event(
        sweep,
        id,
        'trial.completed',
        { epochs: 3, bestEpoch: 3, stoppedEarly: false, modelUri: `file:///m/${id}/`, seconds: 30 },
        over,
      ),
    );
  };
  const cnnSelected = options.cnnSelected ?? CORRECT.cnnSelected;
  for (let r = 0; r < k; r++) {
    trial('cnn', 'cnn', 0, 0.01, r, 0.62, cnnSelected[r]!);
    trial('cnn', 'cnn', 1, 0.001, r, 0.55, CORRECT.cnnOther[r]!);
    trial('mobilenet', 'mobilenetv2', 0, 0.01, r, 0.3, 'stopped');
    trial('mobilenet', 'mobilenetv2', 1, 0.001, r, 0.45, CORRECT.mobilenetSelected[r]!);
  }
  return out;
}
