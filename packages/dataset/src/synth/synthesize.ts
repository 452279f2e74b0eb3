import { FER2013_CLASS_COUNTS, FER_PIXELS, NUM_CLASSES } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import { Random } from '@fersweep/random';
import { renderFace } from './face.js';

import { USAGES as FER_USAGES, type Usage as FerUsage } from '../sources/types.js';

export { FER_USAGES, type FerUsage };

/** Fractions of the data per usage; they are normalised, so any positive scale works. */
export interface UsageFractions {
  training: number;
  publicTest: number;
  privateTest: number;
}

/** FER2013's own split: 28,709 / 3,589 / 3,589 of 35,887. */
export const FER2013_USAGE_FRACTIONS: Readonly<UsageFractions> = Object.freeze({
  training: 28709,
  publicTest: 3589,
  privateTest: 3589,
});

/** What `synthesize` makes: how many rows, from which seed, with which class and usage mix. */
export interface SynthesizeOptions {
  /** Number of images. */
  count: number;
  /** Any safe integer; the same seed always gives the same images, labels and order. */
  seed: number;
  /** Relative class frequencies, one per label; default FER2013's (disgust rare). */
  classWeights?: readonly number[];
  /** Default FER2013's 80/10/10. */
  usageFractions?: UsageFractions;
}

/** One synthetic row, shaped like a fer2013.csv row. */
export interface SyntheticImage {
  /** Position in the stream, 0-based; the image depends only on (seed, index). */
  index: number;
  label: number;
  usage: FerUsage;
  /** 48×48 grayscale, row-major, 0–255; a fresh array per image. */
  pixels: Uint8Array;
}

/**
 * Splits `count` into integers proportional to `weights` by the largest-remainder method: each
 * share is the floor of its exact quota, and the leftover units go to the largest remainders
 * (ties to the lower index). The result sums to `count` and each share is within 1 of its quota.
 */
export function allocate(count: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new DatasetError('InvalidArgument', `allocate: count must be a non-negative integer, got ${count}`, {
      field: 'count',
    });
  }
  const total = checkWeights(weights, 'weights');
  const quotas = weights.map((w) => (count * w) / total);
  const shares = quotas.map(Math.floor);
  let left = count - shares.reduce((a, b) => a + b, 0);
  const byRemainder = quotas.map((q, i) => ({ i, r: q - Math.floor(q) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    shares[i]! += 1;
    left -= 1;
  }
  return shares;
}

/**
 * Splits each class count over the usages so that every usage keeps the class imbalance and the
 * usage totals are exactly `allocate(total, fractions)`. Rounding each class on its own would let
 * the usage totals drift by up to one per class; instead every cell is the floor or ceiling of
 * its exact share, with the ceilings chosen (largest remainders first, then augmenting paths) so
 * rows and columns both add up — a small controlled-rounding problem.
 * Returns `table[label][usage]`.
 */
export function allocateByClass(classCounts: readonly number[], fractions: readonly number[]): number[][] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const fsum = checkWeights(fractions, 'usage fractions');
  const colTotals = allocate(total, fractions);
  const exact = classCounts.map((n) => fractions.map((f) => (n * f) / fsum));
  const table = exact.map((row) => row.map(Math.floor));
  const rowNeed = classCounts.map((n, c) => n - table[c]!.reduce((a, b) => a + b, 0));
  const colNeed = colTotals.map((t, u) => t - table.reduce((a, row) => a + row[u]!, 0));
  // raised[c][u]: this cell took its ceiling.
  const raised = exact.map((row) => row.map(() => false));
  const canRaise = (c: number, u: number): boolean => exact[c]![u]! - table[c]![u]! > 1e-9 && !raised[c]![u]!;

  const cells = exact.flatMap((row, c) => row.map((x, u) => ({ c, u, r: x - Math.floor(x) })));
  cells.sort((a, b) => b.r - a.r || a.c - b.c || a.u - b.u);
  for (const { c, u } of cells) {
    if (rowNeed[c]! > 0 && colNeed[u]! > 0 && canRaise(c, u)) {
      raised[c]![u] = true;
      rowNeed[c]! -= 1;
      colNeed[u]! -= 1;
    }
  }
  for (let c = 0; c < classCounts.length; c++) {
    while (rowNeed[c]! > 0) {
      const path = augmentingPath(c, raised, canRaise, colNeed);
      if (path === undefined) {
        // No floor/ceiling solution through this row (never seen for real weights); give the
        // unit to the neediest usage so totals stay exact.
        const u = colNeed.indexOf(Math.max(...colNeed));
        table[c]![u]! += 1;
        rowNeed[c]! -= 1;
        colNeed[u]! -= 1;
        continue;
      }
      // Alternate along the path: raise (c,u), lower (c',u), raise (c',u'), … ending at a needy usage.
      for (let k = 0; k < path.length; k++) {
        const { c: pc, u: pu } = path[k]!;
        raised[pc]![pu] = k % 2 === 0;
      }
      rowNeed[c]! -= 1;
      colNeed[path[path.length - 1]!.u]! -= 1;
    }
  }
  return table.map((row, c) => row.map((x, u) => x + (raised[c]![u]! ? 1 : 0)));
}

/** BFS over the residual graph from row `start` to a usage that still needs a unit. */
function augmentingPath(
  start: number,
  raised: boolean[][],
  canRaise: (c: number, u: number) => boolean,
  colNeed: number[],
): { c: number; u: number }[] | undefined {
  const rows = raised.length;
  const cols = colNeed.length;
  const colFromRow = new Array<number>(cols).fill(-1);
  const seenRow = new Array<boolean>(rows).fill(false);
  const rowFromCol = new Array<number>(rows).fill(-1);
  seenRow[start] = true;
  let frontier = [start];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const c of frontier) {
      for (let u = 0; u < cols; u++) {
        if (colFromRow[u] !== -1 || !canRaise(c, u)) continue;
        colFromRow[u] = c;
        if (colNeed[u]! > 0) {
          // Walk back: (c,u) raised, then (c, rowFromCol) lowered, …
          const path: { c: number; u: number }[] = [];
          let cu = u;
          let cc = c;
          for (;;) {
            path.unshift({ c: cc, u: cu });
            if (cc === start) break;
            const uPrev = rowFromCol[cc]!;
            path.unshift({ c: cc, u: uPrev });
            cu = uPrev;
            cc = colFromRow[uPrev]!;
          }
          return path;
        }
        // Column u is full: push a unit back along a row that holds a raised cell in u.
        for (let c2 = 0; c2 < rows; c2++) {
          if (!seenRow[c2] && raised[c2]![u]!) {
            seenRow[c2] = true;
            rowFromCol[c2] = u;
            next.push(c2);
          }
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/**
 * Streams `count` synthetic FER2013-style rows. Class counts are exactly
 * `allocate(count, classWeights)`; usages are split per class (see `allocateByClass`) so each
 * keeps the imbalance. Rows come in FER2013's file order — Training, then PublicTest, then
 * PrivateTest — with labels shuffled by `seed` inside each block. Image `index` is rendered from
 * `imageRandom(seed, index)` alone, so any row can be regenerated on its own
 * (`renderFace(row.label, imageRandom(seed, row.index))`) and consumers may skip rows freely.
 * Throws `DatasetError` ('InvalidArgument') for a bad count, seed or weights.
 */
export function synthesize(options: SynthesizeOptions): Generator<SyntheticImage, void, undefined> {
  const { count, seed } = options;
  // Validated here rather than inside the generator, so a bad option fails at the call site
  // instead of at the first `next()`.
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new DatasetError('InvalidArgument', `synthesize: count must be a non-negative integer, got ${count}`, {
      field: 'count',
    });
  }
  if (!Number.isSafeInteger(seed)) {
    throw new DatasetError('InvalidArgument', `synthesize: seed must be a safe integer, got ${seed}`, {
      field: 'seed',
    });
  }
  const weights = options.classWeights ?? FER2013_CLASS_COUNTS;
  if (weights.length !== NUM_CLASSES) {
    throw new DatasetError(
      'InvalidArgument',
      `synthesize: classWeights needs ${NUM_CLASSES} entries (one per label), got ${weights.length}`,
      { field: 'classWeights' },
    );
  }
  const f = options.usageFractions ?? FER2013_USAGE_FRACTIONS;
  const classCounts = allocate(count, weights);
  const table = allocateByClass(classCounts, [f.training, f.publicTest, f.privateTest]);
  return rows(seed, table);
}

function* rows(seed: number, table: readonly (readonly number[])[]): Generator<SyntheticImage, void, undefined> {
  // Index −1 is never an image, so the shuffle's stream is separate from every image's.
  const order = imageRandom(seed, -1);
  let index = 0;
  for (let u = 0; u < FER_USAGES.length; u++) {
    const usage = FER_USAGES[u]!;
    const labels: number[] = [];
    for (let c = 0; c < NUM_CLASSES; c++) for (let k = 0; k < table[c]![u]!; k++) labels.push(c);
    order.shuffle(labels);
    for (const label of labels) {
      const pixels = renderFace(label, imageRandom(seed, index), new Uint8Array(FER_PIXELS));
      yield { index, label, usage, pixels };
      index++;
    }
  }
}

/** The generator image `index` of stream `seed` is drawn from: any image can be regenerated alone. */
export function imageRandom(seed: number, index: number): Random {
  return Random.keyed(seed, index);
}

function checkWeights(weights: readonly number[], what: string): number {
  let total = 0;
  for (const w of weights) {
    if (!Number.isFinite(w) || w < 0) {
      throw new DatasetError(
        'InvalidArgument',
        `${what} must be finite and non-negative, got [${weights.join(', ')}]`,
        { field: what },
      );
    }
    total += w;
  }
  if (total <= 0)
    throw new DatasetError('InvalidArgument', `${what} must have a positive sum, got [${weights.join(', ')}]`, {
      field: what,
    });
  return total;
}
