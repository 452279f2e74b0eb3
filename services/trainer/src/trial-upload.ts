/** The trial's upload step: the trained model and its metadata.json under `<trial>/model/`. */
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS } from '@fersweep/contracts';
import { getVariant, saveModel } from '@fersweep/models';
import type { ObjectStore } from '@fersweep/storage';
import type { CheckpointState } from './checkpoint.js';
import type { TrialData } from './trial-data.js';
import { TRAINER_VERSION, type TrainerDeps, type TrialResult } from './trainer.js';

export interface UploadInput {
  deps: Pick<TrainerDeps, 'spec' | 'runtime' | 'now'>;
  trialStore: ObjectStore;
  model: tf.LayersModel;
  params: unknown;
  data: TrialData;
  state: CheckpointState;
  bestEpoch: number;
  test: TrialResult['test'];
  batchNorm: { method: 'precise'; images: number } | { method: 'moving-average' };
}

/** Saves the model (without its optimizer) and writes metadata.json beside it; the model folder's URL. */
export async function uploadModel(u: UploadInput): Promise<string> {
  const { deps, trialStore, model, params, state, bestEpoch, test } = u;
  const { spec } = deps;
  const now = deps.now ?? (() => new Date());
  const { manifest, datasetSha256 } = u.data;
  const { height, width, channels, numClasses } = u.data.shape;
  const variant = getVariant(spec.model);
  const modelStore = trialStore.sub('model');
  const saved = await saveModel(model, modelStore, { includeOptimizer: false });
  const last = state.history[state.history.length - 1];
  const metadata = {
    format: 'fersweep-model/v1',
    sweep: spec.sweep,
    trial: spec.trial,
    variant: spec.variant,
    model: spec.model,
    params,
    labels: manifest.classes.length === EMOTIONS.length ? [...manifest.classes] : manifest.classes,
    input: { height, width, channels },
    preprocessing: {
      grayscale: 'ITU-R BT.601 luma',
      resize: `${width}x${height}, centre crop, Lanczos`,
      rescale: spec.augmentation?.rescale ?? 1 / 255,
      layout: 'NHWC float32',
      // What the model itself does to that input before its first weight layer.
      inModel: variant.preprocessing?.(params, { height, width, channels, numClasses }) ?? [],
    },
    dataset: { url: spec.dataset, manifestSha256: datasetSha256, name: manifest.name },
    training: {
      epochs: state.completedEpochs,
      bestEpoch,
      stoppedEarly: state.stopped,
      batchSize: spec.batchSize,
      seed: spec.seed,
      batchNormStatistics: u.batchNorm,
    },
    metrics: { ...(last ? { final: last } : {}), ...(test ? { test } : {}) },
    runtime: {
      backend: deps.runtime.backend,
      device: deps.runtime.device,
      package: deps.runtime.package,
      tfjs: tf.version.tfjs,
    },
    codeVersion: TRAINER_VERSION,
    files: saved.files,
    createdAt: now().toISOString(),
  };
  await modelStore.put('metadata.json', JSON.stringify(metadata, null, 2) + '\n', {
    contentType: 'application/json',
  });
  const modelUri = `${modelStore.url}/`;
  return modelUri;
}
