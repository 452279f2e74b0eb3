import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { eventId, keys, type TrialEvent, type TrialSpec } from '@fersweep/contracts';
import { epochBatches } from '@fersweep/dataset';
import type { Bus } from '@fersweep/messaging';
import { disposeModel, explainOutOfMemory, getVariant, parseParams, type TfRuntime } from '@fersweep/models';
import type { Logger } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import { evaluationBatchSize, preciseBatchNormPlan, recalibrateBatchNorm } from './batch-norm.js';
import { afterEpoch } from './callbacks.js';
import { CheckpointStore, checkpointName, type HistoryEntry } from './checkpoint.js';
import { classify, InterruptedError } from './errors.js';
import { createEpochStep, type EpochStep } from './parallel/epoch-step.js';
import { predictSplit } from './predict.js';
import { loadTrialData } from './trial-data.js';
import { evaluateSplits } from './trial-evaluate.js';
import { buildOrResume, setLearningRate } from './trial-model.js';
import { uploadModel } from './trial-upload.js';

export const TRAINER_VERSION = '0.1.0';

/** Distributive Omit, so each member of the event union keeps its own fields. */
export type EventBody = TrialEvent extends infer E
  ? E extends TrialEvent
    ? Omit<E, 'id' | 'time' | 'sweep' | 'trial' | 'variant' | 'attempt'>
    : never
  : never;

export interface TrainerDeps {
  spec: TrialSpec;
  openStore: (url: string) => ObjectStore;
  bus: Bus;
  logger: Logger;
  runtime: TfRuntime;
  /** Aborted on SIGTERM: the trainer checkpoints after the current batch and throws InterruptedError. */
  signal?: AbortSignal;
  now?: () => Date;
  /** Data-parallel threads; default: the usable cores capped by FERSWEEP_TRAIN_THREADS (parallel/threads.ts). */
  threads?: number;
}

export interface TrialResult {
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  modelUri: string;
  history: HistoryEntry[];
  test?: { accuracy: number; macroF1: number };
}

/** Counts this start of the trial (1, 2, …) in `<trial>/attempt.json`: events carry it. */
async function nextAttempt(trialStore: ObjectStore): Promise<number> {
  const prev = await trialStore.get('attempt.json').then(
    (b) => Number((JSON.parse(b.toString('utf8')) as { attempt?: number }).attempt) || 0,
    () => 0,
  );
  const attempt = prev + 1;
  await trialStore.put('attempt.json', JSON.stringify({ attempt }), { contentType: 'application/json' });
  return attempt;
}

/**
 * Runs one trial end to end: dataset → model (fresh or from the newest checkpoint) → epochs with
 * events and a checkpoint after each → best weights → evaluation → model upload → completed.
 * Throws on failure; the caller classifies the error, publishes trial.failed and exits.
 */
export async function runTrial(deps: TrainerDeps): Promise<TrialResult> {
  const { spec, bus, logger } = deps;
  const now = deps.now ?? (() => new Date());
  let attempt = 1;
  let epochReached = 0;
  const publish = async (body: EventBody) => {
    const e = {
      ...body,
      sweep: spec.sweep,
      trial: spec.trial,
      variant: spec.variant,
      attempt,
      time: now().toISOString(),
      // The coordinator's launch (seq + nonce): consumers drop events without the current one.
      ...(spec.launch ? { launch: spec.launch } : {}),
    };
    const event = { ...e, id: eventId(e as Parameters<typeof eventId>[0]) } as TrialEvent;
    await bus.publish(event);
  };
  try {
    const trialStore = deps.openStore(spec.output).sub(keys.trialRoot(spec.sweep, spec.trial));
    attempt = await nextAttempt(trialStore);
    return await train(deps, trialStore, publish, (e) => (epochReached = e));
  } catch (caught) {
    // A wasm heap at its 4 GiB limit fails the same way on every retry: report it as a spec problem.
    const err = explainOutOfMemory(caught, { model: spec.model, batchSize: spec.batchSize });
    const c = classify(err);
    logger.error('trial failed', { code: c.code, reason: c.reason, retryable: c.retryable, exitCode: c.exitCode });
    await publish({
      type: 'trial.failed',
      reason: c.reason,
      code: c.code,
      retryable: c.retryable,
      exitCode: c.exitCode,
      epoch: epochReached,
    }).catch((e: unknown) =>
      logger.warn('could not publish trial.failed', { error: e instanceof Error ? e.message : String(e) }),
    );
    throw err;
  }
}

async function train(
  deps: TrainerDeps,
  trialStore: ObjectStore,
  publish: (body: EventBody) => Promise<void>,
  reached: (epoch: number) => void,
): Promise<TrialResult> {
  const { spec, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const t0 = performance.now();
  const variant = getVariant(spec.model);
  const params = parseParams(spec.model, spec.params);

  const data = await loadTrialData(deps);
  const { reader, manifest, datasetSha256, train, val } = data;
  const { height, width, channels, numClasses } = data.shape;

  const checkpoints = new CheckpointStore(trialStore.sub('checkpoints'));
  const built = await buildOrResume(deps, checkpoints, data.shape, params);
  const model = built.model;
  let state = built.state;
  setLearningRate(model, state.callbacks.learningRate);
  reached(state.completedEpochs);
  const bnPlan = preciseBatchNormPlan(spec, train.count);
  logger.info('BatchNorm statistics for evaluation', {
    method: bnPlan ? 'precise' : 'moving averages',
    ...(bnPlan ?? { batchNormMomentum: (params as { batchNormMomentum?: number }).batchNormMomentum }),
  });

  let step: EpochStep | undefined;
  try {
    // The one choice between today's single-thread step and data-parallel worker threads.
    step = await createEpochStep({
      spec,
      runtime: deps.runtime,
      logger,
      input: { height, width, channels, numClasses },
      ...(deps.threads !== undefined ? { threads: deps.threads } : {}),
    });
    await publish({
      type: 'trial.started',
      model: spec.model,
      params: params as Record<string, unknown>,
      epochs: spec.epochs,
      backend: deps.runtime.backend,
      device: step.threads > 1 ? `${deps.runtime.device} × ${step.threads} data-parallel threads` : deps.runtime.device,
      datasetSha256,
      trainImages: train.count,
      parameterCount: model.countParams(),
      resumedFromEpoch: state.completedEpochs,
      dataset: spec.dataset,
      seed: spec.seed,
      ...(spec.replicate === undefined ? {} : { replicate: spec.replicate }),
    });

    const bestCheckpoint = () =>
      state.callbacks.stopBestEpoch > 0 ? [checkpointName(state.callbacks.stopBestEpoch, 0)] : [];
    while (!state.stopped && state.completedEpochs < spec.epochs) {
      const epoch = state.completedEpochs + 1;
      if (variant.onEpochStart?.(model, params, epoch - 1)) {
        setLearningRate(model, state.callbacks.learningRate);
        logger.info('model changed at epoch start (fine-tuning)', { epoch });
      }
      const epochStart = performance.now();
      const partial = { ...state.partial };
      const batches = epochBatches({
        data: train,
        batchSize: spec.batchSize,
        seed: spec.seed,
        epoch: epoch - 1,
        shuffle: true,
        ...(spec.augmentation ? { augmentation: spec.augmentation } : {}),
        startBatch: state.batch,
      });
      let batchesDone = state.batch;
      // The next batch (augmentation included) is prepared while the current one trains: a data-parallel step
      // has taken the batch and started before trainBatch returns, and the main thread would otherwise idle.
      for (let next = batches.next(); !next.done;) {
        const batch = next.value;
        const training = step.trainBatch(model, batch, epoch - 1);
        try {
          next = batches.next();
        } catch (err) {
          await training.catch(() => undefined); // the step in flight ends before the error leaves
          throw err;
        }
        const [loss, acc] = await training;
        partial.lossSum += loss * batch.size;
        partial.correctSum += acc * batch.size;
        partial.images += batch.size;
        batchesDone = batch.index + 1;
        // trainOnBatch's awaits settle as microtasks (wasm kernels are synchronous), so without this the
        // event loop would starve for a whole epoch: no SIGTERM handler, no NATS pings, no IPC.
        await yieldToEventLoop();
        if (deps.signal?.aborted) {
          await step.sync(model);
          partial.seconds += (performance.now() - epochStart) / 1000;
          const name = await checkpoints.save(
            model,
            {
              ...state,
              batch: batchesDone,
              partial,
              trainSeconds: state.trainSeconds + (performance.now() - epochStart) / 1000,
              savedAt: now().toISOString(),
            },
            bestCheckpoint(),
          );
          throw new InterruptedError(
            `stopped by SIGTERM in epoch ${epoch} after batch ${batchesDone}; checkpoint ${name} written`,
          );
        }
      }
      await step.sync(model);
      const trainSeconds = partial.seconds + (performance.now() - epochStart) / 1000;
      // Statistics of the current weights for this evaluation, the checkpoint and (via it) the saved model.
      // Both passes run on every replica when data-parallel; each asks for the weights as they are then.
      const bn =
        bnPlan &&
        (await recalibrateBatchNorm(model, train, bnPlan, spec, epoch - 1, channels, await step.evaluation(model)));
      if (bn && bn.skipped.length > 0) logger.warn('BatchNorm layers not re-estimated', { layers: bn.skipped });
      const v = await predictSplit(
        await step.evaluation(model),
        val,
        evaluationBatchSize(spec),
        numClasses,
        spec.augmentation?.rescale,
      );
      const metrics = {
        loss: partial.lossSum / partial.images,
        accuracy: partial.correctSum / partial.images,
        valLoss: v.loss,
        valAccuracy: v.accuracy,
      };
      const learningRate = state.callbacks.learningRate;
      const decided = afterEpoch(state.callbacks, epoch, metrics, spec.earlyStopping, spec.reduceLrOnPlateau);
      if (decided.reducedTo !== undefined) {
        setLearningRate(model, decided.reducedTo);
        logger.info('reducing learning rate on plateau', { epoch, learningRate: decided.reducedTo });
      }
      const entry: HistoryEntry = {
        epoch,
        ...metrics,
        learningRate,
        imagesPerSecond: partial.images / Math.max(trainSeconds, 1e-9),
        seconds: (performance.now() - epochStart) / 1000 + partial.seconds,
      };
      state = {
        ...state,
        completedEpochs: epoch,
        batch: 0,
        partial: { lossSum: 0, correctSum: 0, images: 0, seconds: 0 },
        history: [...state.history, entry],
        callbacks: decided.state,
        stopped: decided.stop,
        trainSeconds: state.trainSeconds + entry.seconds,
        savedAt: now().toISOString(),
      };
      reached(epoch);
      await publish({ type: 'trial.epoch', ...entry });
      logger.info('epoch', { ...entry, ...(bn ? { batchNormSeconds: bn.seconds, batchNormLayers: bn.layers } : {}) });
      await checkpoints.save(model, state, bestCheckpoint());
      if (decided.stop) logger.info('early stopping', { epoch, bestEpoch: decided.state.stopBestEpoch });
      if (deps.signal?.aborted)
        throw new InterruptedError(`stopped by SIGTERM after epoch ${epoch}; checkpoint written`);
    }

    const bestEpoch = state.callbacks.stopBestEpoch || state.completedEpochs;
    if (spec.earlyStopping?.restoreBestWeights && bestEpoch !== state.completedEpochs) {
      const best = await checkpoints.loadEpoch(bestEpoch);
      if (best) {
        model.setWeights(best.getWeights());
        disposeModel(best);
        logger.info("restored the best epoch's weights", { bestEpoch });
      }
    }

    const evaluationStep = step;
    const test = await evaluateSplits({
      spec,
      reader,
      manifest,
      model,
      numClasses,
      publish,
      logger,
      evaluation: () => evaluationStep.evaluation(model),
    });

    const modelUri = await uploadModel({
      deps,
      trialStore,
      model,
      params,
      data,
      state,
      bestEpoch,
      test,
      batchNorm: bnPlan ? { method: 'precise', images: bnPlan.images } : { method: 'moving-average' },
    });
    await publish({
      type: 'trial.completed',
      epochs: state.completedEpochs,
      bestEpoch,
      stoppedEarly: state.stopped,
      modelUri,
      seconds: (performance.now() - t0) / 1000,
    });
    return {
      epochs: state.completedEpochs,
      bestEpoch,
      stoppedEarly: state.stopped,
      modelUri,
      history: state.history,
      ...(test ? { test } : {}),
    };
  } finally {
    await step?.close();
    disposeModel(model);
  }
}
