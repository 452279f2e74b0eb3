import type * as tf from '@tensorflow/tfjs';
import type { ObjectStore } from '@fersweep/storage';
import type { z } from 'zod';
import { ModelError } from './errors.js';

/** What a variant is built for: the dataset's image shape and class count (from its manifest). */
export interface ModelInput {
  height: number;
  width: number;
  /** 1 for grayscale FER2013. */
  channels: number;
  numClasses: number;
}

/** Clients and knobs a build may need besides the params. */
export interface BuildOptions {
  /** Opens the object store a `pretrained` URL names; default `openStore` from @fersweep/storage. */
  openStore?: (url: string) => ObjectStore;
  /**
   * The artifact root (FERSWEEP_STORE; a trial's `output`) where `pretrained: imagenet` finds Keras weight files
   * (`pretrained/keras/`) and caches the ones it downloads. Without it they are downloaded every time.
   */
  artifactRoot?: string;
  /** Base URL of keras' weight files; default $FERSWEEP_KERAS_WEIGHTS_URL, else keras' public bucket. */
  kerasWeightsUrl?: string;
  /** Seeds the kernel initializers, so that two builds with one seed start from the same weights. */
  seed?: number;
}

/** Which pretrained weights went where. */
export interface PretrainedReport {
  /** The URL the weights came from. */
  source: string;
  /** sha256 of the keras weight file, when the weights came from one. */
  sha256?: string;
  /** Layers whose every weight was copied. */
  loaded: string[];
  /** Layers with weights that kept their initial values, and why (absent from the source, shape differs, head). */
  skipped: { layer: string; reason: string }[];
  /** Layers of the source with no layer of that name in the base (e.g. the source's own classifier). */
  unused: string[];
}

/** A compiled model ready for `fit`, with what the build wants a user to know. */
export interface BuiltModel {
  model: tf.LayersModel;
  /** One line each, e.g. `mobilenetv2: no pretrained weights, training from scratch`. */
  notes: string[];
  /** Present when pretrained weights were asked for. */
  pretrained?: PretrainedReport;
}

/**
 * A trainable model family. Every variant's model takes images `[n, height, width, channels]` with pixels in
 * [0, 1] (the dataset's default rescale of 1/255) and one-hot labels `[n, numClasses]` (see `labelTensor`), and
 * outputs softmax probabilities `[n, numClasses]`. Models are compiled with Adam, categorical cross-entropy and
 * accuracy.
 */
export interface ModelVariant<P> {
  /** Registry key, as a TrialSpec's `model` names it. */
  readonly name: string;
  /** One line for `fersweep models list` and reports. */
  readonly description: string;
  /** Strict schema with defaults: `{}` parses to the reference configuration. */
  readonly params: z.ZodType<P>;
  /**
   * Builds and compiles the model. Async because pretrained weights are read from an object store.
   * Throws ModelError 'IncompatibleInput' when `input` cannot feed this variant.
   */
  build(params: P, input: ModelInput, options?: BuildOptions): Promise<BuiltModel>;
  /** Forward FLOPs per image (2 × multiply-adds of conv, depthwise and dense layers), from the built layers. */
  flops(params: P, input: ModelInput): number;
  /**
   * The preprocessing layers the model applies itself, one phrase each (for a saved model's metadata), e.g.
   * `scale [0, 1] → [-1, 1] (keras mobilenet_v2.preprocess_input)`. Absent when there are none.
   */
  preprocessing?(params: P, input: ModelInput): string[];
  /**
   * Called by the trainer at the start of every epoch (0-based); returns true when it changed the model
   * (e.g. unfroze layers and recompiled). Absent when the variant never changes during training.
   */
  onEpochStart?(model: tf.LayersModel, params: P, epoch: number): boolean;
}

/** Rejects shapes no variant can take (non-integer or empty sides, fewer than 2 classes). */
export function checkInputBasics(model: string, input: ModelInput): void {
  const sides: [keyof ModelInput, number][] = [
    ['height', input.height],
    ['width', input.width],
    ['channels', input.channels],
  ];
  for (const [field, v] of sides) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ModelError('IncompatibleInput', `${model}: input ${field} must be a positive integer, got ${v}`, {
        model,
        field: `input.${field}`,
      });
    }
  }
  if (!Number.isSafeInteger(input.numClasses) || input.numClasses < 2) {
    throw new ModelError(
      'IncompatibleInput',
      `${model}: a classifier needs at least 2 classes, got ${input.numClasses}`,
      { model, field: 'input.numClasses' },
    );
  }
}
