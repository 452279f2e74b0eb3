import { NUM_CLASSES } from '@fersweep/contracts';
import { Random } from '@fersweep/random';

/**
 * Streams FER2013's Training rows into train and val, stratified by class and seeded, without
 * holding the file in memory: each class's rows are cut into blocks of about 1/fraction rows
 * (10 for the default 0.1), and in every block a seeded random choice of round(blockSize × fraction)
 * rows — carried, so the running total never drifts — goes to val. Every class's val count is thus
 * within one block quota (1 for fractions ≤ 0.5) of its exact share however the file ends, the
 * choice inside a block is random, and the same seed always gives the same split.
 */
export class StratifiedSplitter {
  private readonly seen = new Array<number>(NUM_CLASSES).fill(0);
  private readonly perms: Uint32Array[] = [];
  private readonly quotas = new Array<number>(NUM_CLASSES).fill(0);

  readonly blockSize: number;

  constructor(
    readonly valFraction: number,
    readonly seed: number,
  ) {
    if (!(valFraction >= 0 && valFraction < 1)) {
      throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
    }
    this.blockSize = valFraction > 0 ? Math.max(2, Math.ceil(1 / valFraction)) : 1;
  }

  assign(label: number): 'train' | 'val' {
    const k = this.seen[label]!++;
    const pos = k % this.blockSize;
    if (pos === 0) {
      const block = k / this.blockSize;
      const perm = Uint32Array.from({ length: this.blockSize }, (_, i) => i);
      Random.keyed(this.seed, label, block).shuffle(perm);
      this.perms[label] = perm;
      const f = this.valFraction * this.blockSize;
      this.quotas[label] = Math.round((block + 1) * f) - Math.round(block * f);
    }
    return this.perms[label]![pos]! < this.quotas[label]! ? 'val' : 'train';
  }
}
