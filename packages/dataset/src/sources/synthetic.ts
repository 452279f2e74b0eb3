import { createHash } from 'node:crypto';
import { FER2013_CLASS_COUNTS } from '@fersweep/contracts';
import { synthesize } from '../synth/index.js';
import type { DatasetSource } from './types.js';

export interface SyntheticOptions {
  count: number;
  seed: number;
  /** Relative class frequencies; FER2013's imbalance by default. */
  classWeights?: readonly number[];
}

/** Bumped whenever the generator's pictures change, so a dataset's source sha256 says which generator made it. */
export const SYNTH_GENERATOR_VERSION = 1;

/** The procedural FER-style face generator as a dataset source (FER2013's Usage proportions). */
export function syntheticSource(options: SyntheticOptions): DatasetSource {
  const classWeights = options.classWeights ?? FER2013_CLASS_COUNTS;
  const params = { generator: SYNTH_GENERATOR_VERSION, count: options.count, seed: options.seed, classWeights };
  const digest = createHash('sha256').update(JSON.stringify(params)).digest('hex');
  return {
    kind: 'synthetic',
    uri: `synthetic:count=${options.count},seed=${options.seed}`,
    sha256: () => digest,
    async *rows(onProgress) {
      let done = 0;
      for (const s of synthesize({ count: options.count, seed: options.seed, classWeights })) {
        yield { index: s.index, label: s.label, usage: s.usage, pixels: s.pixels };
        if (onProgress && ++done % 256 === 0) onProgress({ done, total: options.count, unit: 'images' });
      }
      onProgress?.({ done: options.count, total: options.count, unit: 'images' });
    },
  };
}
