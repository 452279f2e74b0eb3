import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS, eventId, keys, type SamplePrediction, type TrialEvent, type TrialSpec } from '@fersweep/contracts';
import { DatasetError, DatasetReader, epochBatches, Random, type SplitData } from '@fersweep/dataset';
import { confusionMatrix, summarize } from '@fersweep/evaluation';
import type { Bus } from '@fersweep/messaging';
import {
  disposeModel,
  explainOutOfMemory,
  getVariant,
  labelTensor,
  parseParams,
  saveModel,
  type TfRuntime,
} from '@fersweep/models';
import type { Logger } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import { evaluationBatchSize, preciseBatchNormPlan, recalibrateBatchNorm } from './batch-norm.js';
import { afterEpoch, initialCallbackState } from './callbacks.js';
import { CheckpointStore, checkpointName, type CheckpointState, type HistoryEntry } from './checkpoint.js';
import { classify, InterruptedError } from './errors.js';
import { predictSplit } from './predict.js';

export const TRAINER_VERSION = '0.1.0';

/** Distributive Omit, so each member of the event union keeps its own fields. */
type EventBody = TrialEvent extends infer E
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
}

export interface TrialResult {
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  modelUri: string;
  history: HistoryEntry[];
  test?: { accuracy: number; macroF1: number };
}

/** Images `maxTrainImages` picked by a seeded permutation (quick presets), else the split itself. */
function subset(data: SplitData, max: number | undefined, seed: number): SplitData {
  if (max === undefined || max >= data.count) return data;
  const order = new Random(seed).shuffle(Uint32Array.from({ length: data.count }, (_, i) => i)) as Uint32Array;
  const pick = order.subarray(0, max).sort();
  const ppi = data.height * data.width;
  const images = new Uint8Array(max * ppi);
  const labels = new Uint8Array(max);
  const indices = new Uint32Array(max);
  pick.forEach((src, i) => {
    images.set(data.images.subarray(src * ppi, (src + 1) * ppi), i * ppi);
    labels[i] = data.labels[src]!;
    indices[i] = data.indices[src]!;
  });
  return { ...data, count: max, images, labels, indices };
}

function setLearningRate(model: tf.LayersModel, lr: number): void {
  // tfjs optimizers read `learningRate` on every step; it is a protected field in the typings only.
  (model.optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function getLearningRate(model: tf.LayersModel): number {
  return (model.optimizer as unknown as { learningRate: number }).learningRate;
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

/** Deterministic, stratified-ish picks for the sample-predictions grid: the first k images of each class. */
function samplePositions(labels: Uint8Array, count: number, numClasses: number): number[] {
  const perClass = Math.ceil(count / numClasses);
  const taken = new Array<number>(numClasses).fill(0);
  const out: number[] = [];
  for (let i = 0; i < labels.length && out.length < count; i++) {
    const l = labels[i]!;
    if (taken[l]! < perClass) {
      taken[l]!++;
      out.push(i);
    }
  }
  return out;
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

  const reader = await DatasetReader.open(deps.openStore(spec.dataset));
  const manifest = reader.manifest;
  const { height, width, channels } = manifest.image;
  const numClasses = manifest.classes.length;
  const datasetSha256 = await reader.manifestSha256();
  const train = subset(await reader.loadSplit('train'), spec.maxTrainImages, spec.seed);
  const val = await reader.loadSplit('val');
  if (val.count === 0) {
    throw new DatasetError(
      'InvalidArgument',
      `dataset ${spec.dataset} has no val images: import it with --val-fraction > 0`,
    );
  }
  if (train.count === 0) throw new DatasetError('InvalidArgument', `dataset ${spec.dataset} has no train images`);

  const checkpoints = new CheckpointStore(trialStore.sub('checkpoints'));
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
  setLearningRate(model, state.callbacks.learningRate);
  reached(state.completedEpochs);
  const bnPlan = preciseBatchNormPlan(spec, train.count);
  logger.info('BatchNorm statistics for evaluation', {
    method: bnPlan ? 'precise' : 'moving averages',
    ...(bnPlan ?? { batchNormMomentum: (params as { batchNormMomentum?: number }).batchNormMomentum }),
  });

  try {
    await publish({
      type: 'trial.started',
      model: spec.model,
      params: params as Record<string, unknown>,
      epochs: spec.epochs,
      backend: deps.runtime.backend,
      device: deps.runtime.device,
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
      for (const batch of batches) {
        const xs = tf.tensor4d(batch.xs, [batch.size, height, width, channels]);
        const ys = labelTensor(batch.labels, numClasses);
        let out: number | number[];
        try {
          out = await model.trainOnBatch(xs, ys);
        } finally {
          xs.dispose();
          ys.dispose();
        }
        const [loss, acc] = Array.isArray(out) ? out : [out, NaN];
        partial.lossSum += loss! * batch.size;
        partial.correctSum += acc! * batch.size;
        partial.images += batch.size;
        batchesDone = batch.index + 1;
        // trainOnBatch's awaits settle as microtasks (wasm kernels are synchronous), so without this the
        // event loop would starve for a whole epoch: no SIGTERM handler, no NATS pings, no IPC.
        await yieldToEventLoop();
        if (deps.signal?.aborted) {
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
      const trainSeconds = partial.seconds + (performance.now() - epochStart) / 1000;
      // Statistics of the current weights for this evaluation, the checkpoint and (via it) the saved model.
      const bn = bnPlan && recalibrateBatchNorm(model, train, bnPlan, spec, epoch - 1, channels);
      if (bn && bn.skipped.length > 0) logger.warn('BatchNorm layers not re-estimated', { layers: bn.skipped });
      const v = predictSplit(model, val, evaluationBatchSize(spec), numClasses, spec.augmentation?.rescale);
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

    let test: TrialResult['test'];
    for (const split of spec.evaluate) {
      if (!manifest.splits[split]?.count) continue;
      const data = await reader.loadSplit(split);
      const p = predictSplit(model, data, evaluationBatchSize(spec), numClasses, spec.augmentation?.rescale);
      const cm = confusionMatrix(data.labels, p.predictions, numClasses);
      const summary = summarize(cm, manifest.classes);
      const samples: SamplePrediction[] = samplePositions(data.labels, spec.samplePredictions, numClasses).map(
        (pos) => ({
          position: pos,
          index: data.indices[pos]!,
          label: data.labels[pos]!,
          predicted: p.predictions[pos]!,
          probabilities: Array.from(p.probabilities.subarray(pos * numClasses, (pos + 1) * numClasses), (x) =>
            Math.min(Math.max(x, 0), 1),
          ),
        }),
      );
      await publish({
        type: 'trial.evaluated',
        split,
        accuracy: summary.accuracy,
        macroF1: summary.macroF1,
        weightedF1: summary.weightedF1,
        loss: p.loss,
        confusionMatrix: cm,
        perClass: summary.perClass,
        labels: Array.from(data.labels),
        predictions: Array.from(p.predictions),
        samples,
      });
      logger.info('evaluated', { split, accuracy: summary.accuracy, macroF1: summary.macroF1 });
      if (split === 'test') test = { accuracy: summary.accuracy, macroF1: summary.macroF1 };
    }

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
        batchNormStatistics: bnPlan ? { method: 'precise', images: bnPlan.images } : { method: 'moving-average' },
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
    disposeModel(model);
  }
}
