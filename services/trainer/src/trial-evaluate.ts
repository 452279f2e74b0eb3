/** The trial's evaluation step: each split of `spec.evaluate` → trial.evaluated (confusion matrix, per-class, samples). */
import type * as tf from '@tensorflow/tfjs';
import type { DatasetManifest, SamplePrediction, TrialSpec } from '@fersweep/contracts';
import type { DatasetReader } from '@fersweep/dataset';
import { confusionMatrix, summarize } from '@fersweep/evaluation';
import type { Logger } from '@fersweep/observability';
import { evaluationBatchSize } from './batch-norm.js';
import type { BatchEvaluator } from './forward.js';
import { predictSplit } from './predict.js';
import type { EventBody, TrialResult } from './trainer.js';

export interface EvaluateDeps {
  spec: TrialSpec;
  reader: DatasetReader;
  manifest: DatasetManifest;
  model: tf.LayersModel;
  numClasses: number;
  publish: (body: EventBody) => Promise<void>;
  logger: Logger;
  /** Forward passes over the model's current weights (data-parallel replicas); default: the model on this thread. */
  evaluation?: () => Promise<BatchEvaluator>;
}

/** Publishes trial.evaluated for every split the spec asks for (and the dataset has); the test split's summary. */
export async function evaluateSplits(d: EvaluateDeps): Promise<TrialResult['test']> {
  const { spec, reader, manifest, model, numClasses, publish, logger } = d;
  let test: TrialResult['test'];
  for (const split of spec.evaluate) {
    if (!manifest.splits[split]?.count) continue;
    const data = await reader.loadSplit(split);
    const forward = d.evaluation ? await d.evaluation() : model;
    const p = await predictSplit(forward, data, evaluationBatchSize(spec), numClasses, spec.augmentation?.rescale);
    const cm = confusionMatrix(data.labels, p.predictions, numClasses);
    const summary = summarize(cm, manifest.classes);
    const samples: SamplePrediction[] = samplePositions(data.labels, spec.samplePredictions, numClasses).map((pos) => ({
      position: pos,
      index: data.indices[pos]!,
      label: data.labels[pos]!,
      predicted: p.predictions[pos]!,
      probabilities: Array.from(p.probabilities.subarray(pos * numClasses, (pos + 1) * numClasses), (x) =>
        Math.min(Math.max(x, 0), 1),
      ),
    }));
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

  return test;
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
