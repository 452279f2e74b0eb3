import { AugmentationConfig, type AugmentationConfigInput } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import { applyTransform, isAugmenting, rescaleImage, sampleTransform } from './affine.js';
import { Random } from '@fersweep/random';

/** Named sub-streams of one (seed, epoch): turning augmentation on does not change the shuffle order. */
const Stream = { order: 1, augment: 2 } as const;

/** A split held in memory: `count` grayscale images of height×width bytes, row-major, back to back. */
export interface ImageSplit {
  /** count × height × width bytes. */
  images: Uint8Array;
  /** One class index per image. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface EpochBatchOptions {
  data: ImageSplit;
  /** Images per batch; the last batch of an epoch holds the remainder. */
  batchSize: number;
  /** The run's seed; any safe integer. */
  seed: number;
  /** 0-based epoch number. Order and augmentation depend only on (seed, epoch), never on earlier epochs. */
  epoch: number;
  /** Shuffle the order each epoch; when false images come in split order (augmentation still varies per epoch). */
  shuffle: boolean;
  /** Augmentation and rescale; absent means no augmentation and the default rescale (1/255). */
  augmentation?: AugmentationConfigInput;
  /** First batch to produce: a resumed trainer passes the number of batches it already trained on. */
  startBatch?: number;
}

/** One batch, ready to become a [size, height, width, 1] tensor. */
export interface ImageBatch {
  /** size × height × width floats, rescaled (and augmented when configured). A fresh array per batch. */
  xs: Float32Array;
  /** size class indices, aligned with `xs`. A fresh array per batch. */
  labels: Uint8Array;
  size: number;
  /** 0-based batch number within the epoch. */
  index: number;
  /** Positions in the split of the images in this batch (a read-only view shared by the epoch). */
  indices: Uint32Array;
}

/** Number of batches in an epoch of `count` images, the last one partial. */
export function batchCount(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/**
 * The order in which an epoch visits the split: a permutation of 0…count−1 that depends only on
 * (seed, epoch) when `shuffle` is true, else the identity.
 */
export function epochOrder(count: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (shuffle) Random.keyed(seed, epoch, Stream.order).shuffle(order);
  return order;
}

/**
 * One epoch of training batches from an in-memory split: shuffled by (seed, epoch), augmented with
 * Keras ImageDataGenerator semantics, rescaled. The same options always give the same batches,
 * byte for byte, and `startBatch: k` gives exactly batches k, k+1, … of the full epoch, because
 * each batch's augmentation comes from its own stream keyed by (seed, epoch, batch index) instead of
 * from a generator that earlier batches advanced. This is what checkpoint/resume relies on.
 *
 * Every batch gets new `xs` and `labels` arrays, so a consumer may keep them. tfjs does not copy a
 * Float32Array handed to `tf.tensor` (tfjs-core passes it through, the CPU backend stores it as is),
 * so one buffer reused across batches would rewrite tensors already built from it. The allocation
 * is small next to the resampling work.
 *
 * Options are checked before the first batch; a bad one throws a DatasetError ('InvalidArgument').
 */
export function epochBatches(options: EpochBatchOptions): Generator<ImageBatch, void, undefined> {
  const { data, batchSize, seed, epoch, shuffle } = options;
  const startBatch = options.startBatch ?? 0;
  checkSplit(data);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    invalid('batchSize', `must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(seed)) invalid('seed', `must be a safe integer, got ${seed}`);
  if (!Number.isSafeInteger(epoch) || epoch < 0) invalid('epoch', `must be a non-negative integer, got ${epoch}`);
  const total = batchCount(data.count, batchSize);
  if (!Number.isSafeInteger(startBatch) || startBatch < 0 || startBatch > total) {
    invalid('startBatch', `must be an integer in 0…${total} (batches in this epoch), got ${startBatch}`);
  }
  const parsed = AugmentationConfig.safeParse(options.augmentation ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${['augmentation', ...i.path].join('.')}: ${i.message}`);
    throw new DatasetError(
      'InvalidArgument',
      `epochBatches: ${problems.join('; ')}`,
      { field: 'augmentation' },
      { cause: parsed.error },
    );
  }
  const config = parsed.data;
  const order = epochOrder(data.count, seed, epoch, shuffle);
  return generate(data, order, batchSize, startBatch, total, config, isAugmenting(config) ? [seed, epoch] : undefined);
}

function* generate(
  data: ImageSplit,
  order: Uint32Array,
  batchSize: number,
  startBatch: number,
  total: number,
  config: AugmentationConfig,
  augmentKey: readonly [seed: number, epoch: number] | undefined,
): Generator<ImageBatch, void, undefined> {
  const { height, width } = data;
  const pixels = height * width;
  for (let index = startBatch; index < total; index++) {
    const begin = index * batchSize;
    const end = Math.min(begin + batchSize, data.count);
    const size = end - begin;
    const xs = new Float32Array(size * pixels);
    const labels = new Uint8Array(size);
    const rng = augmentKey && Random.keyed(augmentKey[0], augmentKey[1], Stream.augment, index);
    for (let i = 0; i < size; i++) {
      const sample = order[begin + i]!;
      labels[i] = data.labels[sample]!;
      if (rng) {
        const params = sampleTransform(rng, config, height, width);
        applyTransform(data.images, sample * pixels, xs, i * pixels, params, config, height, width);
      } else {
        rescaleImage(data.images, sample * pixels, xs, i * pixels, pixels, config.rescale);
      }
    }
    yield { xs, labels, size, index, indices: order.subarray(begin, end) };
  }
}

function checkSplit(data: ImageSplit): void {
  const { count, height, width } = data;
  if (!Number.isSafeInteger(count) || count < 0) invalid('data.count', `must be a non-negative integer, got ${count}`);
  if (!Number.isSafeInteger(height) || height < 1) invalid('data.height', `must be a positive integer, got ${height}`);
  if (!Number.isSafeInteger(width) || width < 1) invalid('data.width', `must be a positive integer, got ${width}`);
  if (data.images.length !== count * height * width) {
    invalid(
      'data.images',
      `holds ${data.images.length} bytes, expected count×height×width = ${count * height * width}`,
    );
  }
  if (data.labels.length !== count) invalid('data.labels', `holds ${data.labels.length} labels, expected ${count}`);
}

function invalid(field: string, problem: string): never {
  throw new DatasetError('InvalidArgument', `epochBatches: ${field} ${problem}`, { field });
}
