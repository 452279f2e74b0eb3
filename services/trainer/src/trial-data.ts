/** The trial's data step: the dataset's manifest, its train (optionally subset) and val splits. */
import type { DatasetManifest } from '@fersweep/contracts';
import { DatasetError, DatasetReader, Random, type SplitData } from '@fersweep/dataset';
import type { TrainerDeps } from './trainer.js';

export interface TrialData {
  reader: DatasetReader;
  manifest: DatasetManifest;
  shape: { height: number; width: number; channels: number; numClasses: number };
  datasetSha256: string;
  train: SplitData;
  val: SplitData;
}

/** Opens the trial's dataset and loads the splits every epoch needs; a dataset without them is a spec problem. */
export async function loadTrialData(deps: Pick<TrainerDeps, 'spec' | 'openStore'>): Promise<TrialData> {
  const { spec } = deps;
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

  return { reader, manifest, shape: { height, width, channels, numClasses }, datasetSha256, train, val };
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
