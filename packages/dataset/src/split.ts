import { NUM_CLASSES } from '@fersweep/contracts';
import { Random, deriveSeed } from './random.js';

/**
 * Streams FER2013's Training rows into train and val, stratified by class and seeded, without
 * holding the file in memory: each class's rows are cut into blocks of `blockSize`, and in every
 * block a seeded random subset of exactly round(blockSize × fraction) rows (carried so the running
 * total never drifts) goes to val. So each class gets floor/ceil of its share, the choice inside a
 * block is random, and the same seed always gives the same split.
 */
export class StratifiedSplitter {
  private readonly seen = new Array<number>(NUM_CLASSES).fill(0);
  private readonly perms: Uint32Array[] = [];
  private readonly quotas = new Array<number>(NUM_CLASSES).fill(0);

  constructor(
    readonly valFraction: number,
    readonly seed: number,
    readonly blockSize = 100,
  ) {
    if (!(valFraction >= 0 && valFraction < 1))
      throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  }

  assign(label: number): 'train' | 'val' {
    const k = this.seen[label]!++;
    const pos = k % this.blockSize;
    if (pos === 0) {
      const block = k / this.blockSize;
      const perm = Uint32Array.from({ length: this.blockSize }, (_, i) => i);
      new Random(deriveSeed(this.seed, label, block)).shuffle(perm);
      this.perms[label] = perm;
      const f = this.valFraction * this.blockSize;
      this.quotas[label] = Math.round((block + 1) * f) - Math.round(block * f);
    }
    return this.perms[label]![pos]! < this.quotas[label]! ? 'val' : 'train';
  }
}
