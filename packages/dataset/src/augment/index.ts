export {
  IDENTITY_TRANSFORM,
  affineMatrix,
  applyTransform,
  isAugmenting,
  rescaleImage,
  sampleTransform,
  zoomBounds,
  type AffineParams,
  type RandomTransformOptions,
  type ResampleOptions,
} from './affine.js';
export {
  batchCount,
  epochBatches,
  epochOrder,
  type EpochBatchOptions,
  type ImageBatch,
  type ImageSplit,
} from './batches.js';
