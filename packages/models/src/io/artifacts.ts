import * as tf from '@tensorflow/tfjs';
import { adaptLayers } from '../variants/common.js';
// Registers the custom layer classes our models use, so that their model.json deserialises.
import '../variants/resize-layer.js';
import { ModelError } from '../variants/errors.js';

/** Options for {@link artifactsFromModel} and `saveModel`. */
export interface SaveModelOptions {
  /**
   * Also keep the optimizer's state (Adam's iteration count and moments), so that training resumed from these
   * artifacts continues exactly where it stopped. Checkpoints want it; a final model does not (it triples the
   * weights' size).
   */
  includeOptimizer?: boolean;
}

/** LayersModel's protected `getTrainingConfig` (tfjs-internal; it serialises loss, metrics and optimizer). */
interface WithTrainingConfig {
  getTrainingConfig(): tf.io.TrainingConfig;
}

/**
 * The model as tfjs ModelArtifacts, in memory: topology, weights (model, then optimizer weights in group
 * 'optimizer' when `includeOptimizer`), and the training config whenever the model is compiled, so that a
 * loaded model comes back compiled with the same loss, metrics and optimizer settings.
 *
 * tfjs' own `includeOptimizer` path leaks the iteration-count tensor on every save, so the optimizer weights
 * are encoded here instead.
 */
export async function artifactsFromModel(
  model: tf.LayersModel,
  options: SaveModelOptions = {},
): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (captured === undefined || captured.weightSpecs === undefined || captured.weightData === undefined) {
    throw new ModelError('InvalidArtifacts', 'tfjs returned no weights when saving the model');
  }
  const artifacts: tf.io.ModelArtifacts = { ...captured };
  const optimizer = model.optimizer as tf.Optimizer | undefined;
  if (optimizer == null) return artifacts;
  artifacts.trainingConfig = (model as unknown as WithTrainingConfig).getTrainingConfig();
  if (options.includeOptimizer !== true) return artifacts;
  const state = await optimizer.getWeights();
  try {
    const encoded = await tf.io.encodeWeights(state, 'optimizer');
    artifacts.weightSpecs = [...(captured.weightSpecs ?? []), ...encoded.specs];
    artifacts.weightData = tf.io.CompositeArrayBuffer.join([
      tf.io.CompositeArrayBuffer.join(captured.weightData),
      encoded.data,
    ]);
  } finally {
    // getWeights() makes a fresh scalar for the iteration count; every other entry is a live optimizer variable.
    tf.dispose(state.filter((w) => w.name === 'iter').map((w) => w.tensor));
  }
  return artifacts;
}

/**
 * A LayersModel from in-memory artifacts: compiled when they carry a training config, with the optimizer's
 * state restored when they carry optimizer weights. Frozen BatchNorm layers run in inference mode, as when the
 * model was built. Throws ModelError 'InvalidArtifacts' when the artifacts do not describe a LayersModel whose
 * weights all fit.
 */
export async function modelFromArtifacts(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new ModelError(
      'InvalidArtifacts',
      `not a loadable tfjs LayersModel: ${(err as Error).message}`,
      {},
      {
        cause: err,
      },
    );
  }
  adaptLayers(model);
  return model;
}
