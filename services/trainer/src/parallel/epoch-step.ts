/**
 * The trainer's per-batch step, single-threaded (the model on this thread, exactly as before data
 * parallelism) or data-parallel over worker threads ({@link DataParallel}); runTrial picks one with
 * {@link createEpochStep} and calls `sync` before it reads the model (checkpoint, evaluation).
 */
import * as tf from '@tensorflow/tfjs';
import type { TrialSpec } from '@fersweep/contracts';
import type { ImageBatch } from '@fersweep/dataset';
import { CapturedTraining, captureEnabled, labelTensor, type TfRuntime } from '@fersweep/models';
import type { Logger } from '@fersweep/observability';
import { localEvaluator, type BatchEvaluator } from '../forward.js';
import { DataParallel } from './engine.js';
import { dropoutState, mathRandomFrom } from './shared.js';
import { MIN_SHARD_IMAGES, shardLimit, trainThreads } from './threads.js';

export interface EpochStep {
  /** Replicas training each batch (1: the model on the main thread). */
  readonly threads: number;
  /** Trains one batch; resolves with its mean loss and accuracy. `epoch` is 0-based. */
  trainBatch(model: tf.LayersModel, batch: ImageBatch, epoch: number): Promise<[loss: number, accuracy: number]>;
  /** Makes `model` hold the trained weights and optimizer state (a no-op on one thread). */
  sync(model: tf.LayersModel): Promise<void>;
  /**
   * Forward passes over `model`'s current weights for an evaluation (validation, precise BatchNorm, test): on
   * the replicas, each its shard of every batch, when data-parallel. Ask again after the weights change.
   */
  evaluation(model: tf.LayersModel): Promise<BatchEvaluator>;
  close(): Promise<void>;
}

export interface EpochStepOptions {
  spec: TrialSpec;
  runtime: TfRuntime;
  logger: Logger;
  input: { height: number; width: number; channels: number; numClasses: number };
  /** Replicas; default {@link trainThreads} of the environment. */
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

/** The single-thread step: trainOnBatch on the main thread's model, captured after its first steps. */
function singleThread(o: EpochStepOptions): EpochStep {
  const { height, width, channels, numClasses } = o.input;
  let capture: CapturedTraining | undefined;
  const captureOf = (model: tf.LayersModel): CapturedTraining => {
    if (capture?.model === model) return capture;
    capture?.dispose();
    capture = new CapturedTraining(model, {
      enabled: captureEnabled(o.env ?? process.env),
      onRefused: (reason) => o.logger.info('training step not captured: each step runs trainOnBatch', { reason }),
      onCaptured: (shape, kernelCalls) => o.logger.debug('training step captured', { shape, kernelCalls }),
    });
    return capture;
  };
  return {
    threads: 1,
    async trainBatch(model, batch, epoch) {
      const xs = tf.tensor4d(batch.xs, [batch.size, height, width, channels]);
      const ys = labelTensor(batch.labels, numClasses);
      // Dropout masks from the trial's seed (replica 0's stream), not from the process's Math.random.
      const random = Math.random;
      Math.random = mathRandomFrom(dropoutState(o.spec.seed, epoch, batch.index, 0));
      try {
        const out = await captureOf(model).trainOnBatch(xs, ys);
        const [loss, acc] = Array.isArray(out) ? out : [out, NaN];
        return [loss!, acc!];
      } finally {
        Math.random = random;
        xs.dispose();
        ys.dispose();
      }
    },
    sync: async () => undefined,
    evaluation: async (model) => localEvaluator(model, o.input),
    close: async () => {
      capture?.dispose();
      capture = undefined;
    },
  };
}

/** Chooses the step: data-parallel when more than one thread is available on the wasm or cpu backend. */
export async function createEpochStep(o: EpochStepOptions): Promise<EpochStep> {
  const backend = o.runtime.backend;
  const available = o.threads ?? trainThreads(o.env ?? process.env, backend);
  const threads = Math.min(available, shardLimit(o.spec.batchSize));
  if (threads < available)
    o.logger.info('fewer training threads than cores: each needs a shard of the batch', {
      threads,
      cores: available,
      batchSize: o.spec.batchSize,
      minImagesPerThread: MIN_SHARD_IMAGES,
    });
  if (threads <= 1 || backend === 'tensorflow') return singleThread(o);
  const dp = await DataParallel.start({
    replicas: threads,
    backend,
    seed: o.spec.seed,
    batchSize: o.spec.batchSize,
    input: o.input,
    logger: o.logger,
    capture: captureEnabled(o.env ?? process.env),
  });
  return {
    threads,
    trainBatch: (model, batch, epoch) => dp.trainBatch(model, batch, epoch),
    sync: (model) => dp.sync(model),
    evaluation: async (model) => (await dp.evaluation(model)) ?? localEvaluator(model, o.input),
    close: () => dp.close(),
  };
}
