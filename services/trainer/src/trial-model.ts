/** The trial's model step: the newest checkpoint when there is one, else a fresh build of the variant. */
import type * as tf from '@tensorflow/tfjs';
import { getVariant } from '@fersweep/models';
import { initialCallbackState } from './callbacks.js';
import type { CheckpointState, CheckpointStore } from './checkpoint.js';
import type { TrainerDeps } from './trainer.js';

export function setLearningRate(model: tf.LayersModel, lr: number): void {
  // tfjs optimizers read `learningRate` on every step; it is a protected field in the typings only.
  (model.optimizer as unknown as { learningRate: number }).learningRate = lr;
}

export function getLearningRate(model: tf.LayersModel): number {
  return (model.optimizer as unknown as { learningRate: number }).learningRate;
}

/** Resumes from the newest checkpoint (model and loop state), or builds the variant and a fresh state. */
export async function buildOrResume(
  deps: Pick<TrainerDeps, 'spec' | 'openStore' | 'logger' | 'now'>,
  checkpoints: CheckpointStore,
  shape: { height: number; width: number; channels: number; numClasses: number },
  params: unknown,
): Promise<{ model: tf.LayersModel; state: CheckpointState }> {
  const { spec, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const { height, width, channels, numClasses } = shape;
  const variant = getVariant(spec.model);
  const resumed = await checkpoints.loadLatest();
  let model: tf.LayersModel;
  let state: CheckpointState;
  if (resumed) {
    model = resumed.model;
    state = resumed.state;
    logger.info('resuming from checkpoint', {
      checkpoint: resumed.name,
      completedEpochs: state.completedEpochs,
      batch: state.batch,
    });
  } else {
    // The artifact root caches keras weight files (`pretrained: imagenet`): a cluster downloads each once.
    const built = await variant.build(
      params,
      { height, width, channels, numClasses },
      { seed: spec.seed, openStore: deps.openStore, artifactRoot: spec.output },
    );
    model = built.model;
    for (const note of built.notes) logger.info(note);
    state = {
      version: 1,
      completedEpochs: 0,
      batch: 0,
      partial: { lossSum: 0, correctSum: 0, images: 0, seconds: 0 },
      history: [],
      callbacks: initialCallbackState(getLearningRate(model)),
      stopped: false,
      trainSeconds: 0,
      savedAt: now().toISOString(),
    };
  }
  return { model, state };
}
