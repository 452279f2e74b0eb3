import { SHARD_EXTENSION, type SplitName } from './dataset.js';

/** The object-store key layout, relative to the store root (FERSWEEP_STORE). */
export const keys = {
  datasetRoot: (name: string) => `datasets/${name}`,
  manifest: 'manifest.json',
  /** Relative to a dataset root. */
  shard: (split: SplitName, index: number) => `shards/${split}-${String(index).padStart(5, '0')}.${SHARD_EXTENSION}`,
  exploreDir: 'explore',
  classDistributionPng: 'explore/class-distribution.png',
  sampleGridPng: 'explore/samples.png',
  sweepSpec: (sweep: string) => `sweeps/${sweep}/spec.json`,
  trialRoot: (sweep: string, trial: string) => `sweeps/${sweep}/trials/${trial}`,
  checkpoint: (sweep: string, trial: string, epoch: number) =>
    `sweeps/${sweep}/trials/${trial}/checkpoints/epoch-${String(epoch).padStart(4, '0')}`,
  model: (sweep: string, trial: string) => `sweeps/${sweep}/trials/${trial}/model`,
  report: (sweep: string) => `sweeps/${sweep}/report`,
  /** A Keras HDF5 weight file, content-addressed: a cluster downloads or imports it once. */
  kerasWeights: (sha256: string) => `pretrained/keras/${sha256}.h5`,
  /** Which content a Keras weight file name (`mobilenet_v2_weights_…_no_top.h5`) stands for. */
  kerasWeightsIndex: (name: string) => `pretrained/keras/index/${name}.json`,
} as const;

/** Names used in keys and Kubernetes objects: lowercase DNS-1123 label characters. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
