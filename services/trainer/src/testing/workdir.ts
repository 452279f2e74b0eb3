import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDataset, syntheticSource, type DatasetSource } from '@fersweep/dataset';
import { openStore } from '@fersweep/storage';

/**
 * A temporary folder for trainer tests with a dataset imported at `<dir>/data` (`file://<dir>/data`
 * is the spec's `dataset`; trials write under `<dir>/out`). The source defaults to synthetic faces.
 */
export async function trainerWorkdir(
  prefix: string,
  source: DatasetSource = syntheticSource({ count: 300, seed: 3 }),
  name = 'data',
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fersweep-${prefix}-`));
  await importDataset({ source, store: openStore(`file://${dir}/data`), name, seed: 1, explore: false });
  return dir;
}
