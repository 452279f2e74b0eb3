/**
 * A hand-built sweep whose every number can be checked by hand: two variants on a 14-image test
 * split (2 images per emotion). cnn gets 12 right, mobilenet 8; cnn is right on 4 images mobilenet
 * gets wrong and never the other way round, so McNemar's exact p = 2·(½)⁴ = 0.125.
 */
import {
  EMOTIONS,
  eventId,
  type SweepId,
  type SweepSpecInput,
  type TrialEvent,
  type TrialEventType,
  type TrialId,
} from '@fersweep/contracts';
import { confusionMatrix, summarize } from '@fersweep/evaluation';

type Body<T extends TrialEventType> = Omit<
  Extract<TrialEvent, { type: T }>,
  'id' | 'sweep' | 'trial' | 'variant' | 'attempt' | 'time' | 'type'
>;

const EPOCH = Date.parse('2025-01-01T00:00:00.000Z');
let clock = EPOCH;

/** One event with its contract id; times increase by one second per event built (see handBuiltSweep). */
export function event<T extends TrialEventType>(
  sweep: string,
  trial: string,
  type: T,
  body: Body<T>,
  over: { attempt?: number; variant?: string; time?: string } = {},
): Extract<TrialEvent, { type: T }> {
  clock += 1000;
  const e = {
    type,
    ...body,
    sweep: sweep as SweepId,
    trial: trial as TrialId,
    variant: over.variant ?? trial,
    attempt: over.attempt ?? 1,
    time: over.time ?? new Date(clock).toISOString(),
  } as Record<string, unknown>;
  e.id = eventId(e as Parameters<typeof eventId>[0]);
  return e as Extract<TrialEvent, { type: T }>;
}

/** Test split labels: two images per emotion, in label order. */
export const LABELS = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6];
/** cnn: wrong on images 2 (disgust → angry) and 4 (fear → sad). */
export const CNN_PREDICTIONS = [0, 0, 0, 1, 4, 2, 3, 3, 4, 4, 5, 5, 6, 6];
/** mobilenet: wrong on images 1, 2, 3, 4, 5, 7. */
export const MOBILENET_PREDICTIONS = [0, 6, 0, 0, 4, 6, 3, 6, 4, 4, 5, 5, 6, 6];
/** Positions the trainers publish sample predictions for. */
export const SAMPLE_POSITIONS = [0, 2, 4];

/** Probabilities with `p` on `predicted` and the rest spread evenly. */
export function probabilities(predicted: number, p: number): number[] {
  return EMOTIONS.map((_, i) => (i === predicted ? p : (1 - p) / (EMOTIONS.length - 1)));
}

/** A trial.evaluated body from labels and predictions, computed as the trainer does. */
export function evaluatedBody(
  split: 'val' | 'test' | 'test2',
  labels: number[],
  predictions: number[],
  positions: number[] = SAMPLE_POSITIONS,
  loss = 1,
): Body<'trial.evaluated'> {
  const cm = confusionMatrix(labels, predictions);
  const s = summarize(cm, EMOTIONS);
  return {
    split,
    accuracy: s.accuracy,
    macroF1: s.macroF1,
    weightedF1: s.weightedF1,
    loss,
    confusionMatrix: cm,
    perClass: s.perClass,
    labels,
    predictions,
    samples: positions.map((position) => ({
      position,
      index: 1000 + position,
      label: labels[position]!,
      predicted: predictions[position]!,
      probabilities: probabilities(predictions[position]!, 0.7),
    })),
  };
}

/** The body of a `trial.epoch` event (metrics as given; learning rate, speed and seconds fixed). */
export const epochBody = (epoch: number, accuracy: number, valAccuracy: number, loss: number, valLoss: number) => ({
  epoch,
  loss,
  accuracy,
  valLoss,
  valAccuracy,
  learningRate: 0.001,
  imagesPerSecond: 100 * epoch,
  seconds: 10,
});

/** Options of {@link handBuiltSweep}. */
export interface HandBuiltOptions {
  /** Dataset URL on the started events (sample images); absent by default. */
  dataset?: string;
  datasetSha256?: string;
  labels?: number[];
  cnnPredictions?: number[];
  mobilenetPredictions?: number[];
  positions?: number[];
}

/**
 * The whole sweep in publication order. mobilenet fails retryably in attempt 1 after epoch 2 and
 * finishes in attempt 2 (which replays its started event, deduped by id).
 */
export function handBuiltSweep(sweep: string, options: HandBuiltOptions = {}): TrialEvent[] {
  clock = EPOCH; // the same events, times included, on every call
  const labels = options.labels ?? LABELS;
  const positions = options.positions ?? SAMPLE_POSITIONS;
  const started = (trial: string, model: string, attempt = 1) =>
    event(
      sweep,
      trial,
      'trial.started',
      {
        model,
        params: { learningRate: 0.001 },
        epochs: 3,
        backend: 'cpu',
        device: 'cpu',
        datasetSha256: options.datasetSha256 ?? 'f'.repeat(64),
        trainImages: 140,
        parameterCount: model === 'cnn' ? 1000 : 2000,
        resumedFromEpoch: attempt === 1 ? 0 : 2,
        ...(options.dataset ? { dataset: options.dataset } : {}),
      },
      { attempt },
    );
  return [
    started('cnn', 'cnn'),
    started('mobilenet', 'mobilenetv2'),
    event(sweep, 'cnn', 'trial.epoch', epochBody(1, 0.5, 0.4, 1.5, 1.6)),
    event(sweep, 'mobilenet', 'trial.epoch', epochBody(1, 0.6, 0.4, 1.2, 1.7)),
    event(sweep, 'cnn', 'trial.epoch', epochBody(2, 0.8, 0.6, 0.8, 1.1)),
    event(sweep, 'mobilenet', 'trial.epoch', epochBody(2, 0.85, 0.45, 0.6, 1.5)),
    event(sweep, 'mobilenet', 'trial.failed', {
      reason: 'node preempted',
      code: 'Interrupted',
      retryable: true,
      exitCode: 75,
      epoch: 2,
    }),
    started('mobilenet', 'mobilenetv2', 2),
    event(sweep, 'cnn', 'trial.epoch', epochBody(3, 0.96, 0.64, 0.2, 1.0)),
    event(sweep, 'mobilenet', 'trial.epoch', epochBody(3, 0.92, 0.42, 0.3, 1.8), { attempt: 2 }),
    event(
      sweep,
      'cnn',
      'trial.evaluated',
      evaluatedBody('test', labels, options.cnnPredictions ?? CNN_PREDICTIONS, positions, 0.9),
    ),
    event(
      sweep,
      'mobilenet',
      'trial.evaluated',
      evaluatedBody('test', labels, options.mobilenetPredictions ?? MOBILENET_PREDICTIONS, positions, 1.4),
      { attempt: 2 },
    ),
    event(sweep, 'cnn', 'trial.completed', {
      epochs: 3,
      bestEpoch: 3,
      stoppedEarly: false,
      modelUri: `file:///models/${sweep}/cnn/`,
      seconds: 30,
    }),
    event(
      sweep,
      'mobilenet',
      'trial.completed',
      { epochs: 3, bestEpoch: 2, stoppedEarly: false, modelUri: `file:///models/${sweep}/mobilenet/`, seconds: 40 },
      { attempt: 2 },
    ),
  ];
}

/** The sweep spec the coordinator would write to sweeps/<sweep>/spec.json. */
export function sweepSpec(sweep: string): SweepSpecInput {
  return {
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: sweep },
    spec: {
      dataset: 'file:///datasets/synth',
      epochs: 3,
      variants: [
        { name: 'cnn', model: 'cnn', params: { learningRate: 0.001 } },
        { name: 'mobilenet', model: 'mobilenetv2', params: { learningRate: 0.001 } },
      ],
    },
  };
}

/** A deterministic shuffle (for delivery-order tests). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
