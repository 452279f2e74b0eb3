import { describe, expect, it } from '@jest/globals';
import type { AugmentationConfigInput } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import {
  batchCount,
  epochBatches,
  epochOrder,
  type EpochBatchOptions,
  type ImageBatch,
  type ImageSplit,
} from './batches.js';

const H = 6;
const W = 5;
const AUG: AugmentationConfigInput = {
  rotationRange: 15,
  widthShiftRange: 0.1,
  heightShiftRange: 0.1,
  zoomRange: 0.1,
  horizontalFlip: true,
};

/** count images whose pixels identify the sample (i·7 + p mod 256), labels i mod 7. */
function split(count: number): ImageSplit {
  const images = Uint8Array.from(
    { length: count * H * W },
    (_, k) => (Math.floor(k / (H * W)) * 7 + (k % (H * W))) % 256,
  );
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 7);
  return { images, labels, count, height: H, width: W };
}

function all(options: Partial<EpochBatchOptions> & Pick<EpochBatchOptions, 'data'>): ImageBatch[] {
  return [...epochBatches({ batchSize: 4, seed: 1, epoch: 0, shuffle: true, ...options })];
}

/** Everything a batch delivers, as plain arrays, for equality checks. */
function content(batches: ImageBatch[]) {
  return batches.map((b) => ({
    index: b.index,
    size: b.size,
    indices: [...b.indices],
    labels: [...b.labels],
    xs: [...b.xs],
  }));
}

describe('epochBatches', () => {
  const data = split(10);

  it('yields ceil(count / batchSize) batches, keeping the last partial one, with n×H×W floats each', () => {
    const batches = all({ data });
    expect(batchCount(10, 4)).toBe(3);
    expect(batches.map((b) => [b.index, b.size, b.xs.length, b.labels.length])).toEqual([
      [0, 4, 4 * H * W, 4],
      [1, 4, 4 * H * W, 4],
      [2, 2, 2 * H * W, 2],
    ]);
  });

  it('visits every sample exactly once per epoch', () => {
    for (const epoch of [0, 1, 7]) {
      const seen = all({ data, epoch, augmentation: AUG }).flatMap((b) => [...b.indices]);
      expect(seen.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    }
  });

  it('without augmentation delivers each sample’s pixels/255 exactly, with its label', () => {
    for (const b of all({ data })) {
      b.indices.forEach((sample, i) => {
        expect(b.labels[i]).toBe(data.labels[sample]);
        const want = Array.from(data.images.subarray(sample * H * W, (sample + 1) * H * W), (p) =>
          Math.fround(p / 255),
        );
        expect([...b.xs.subarray(i * H * W, (i + 1) * H * W)]).toEqual(want);
      });
    }
  });

  it('keeps split order when shuffle is off', () => {
    expect(all({ data, shuffle: false }).flatMap((b) => [...b.indices])).toEqual([...Array(10).keys()]);
    expect([...epochOrder(5, 1, 3, false)]).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives identical batches, augmented pixels included, for the same seed and epoch', () => {
    expect(content(all({ data, seed: 42, epoch: 3, augmentation: AUG }))).toEqual(
      content(all({ data, seed: 42, epoch: 3, augmentation: AUG })),
    );
  });

  it('shuffles and augments differently in another epoch or with another seed', () => {
    const base = all({ data, seed: 42, epoch: 3, augmentation: AUG });
    for (const other of [
      all({ data, seed: 42, epoch: 4, augmentation: AUG }),
      all({ data, seed: 43, epoch: 3, augmentation: AUG }),
    ]) {
      expect(other.flatMap((b) => [...b.indices])).not.toEqual(base.flatMap((b) => [...b.indices]));
    }
    // Same order (no shuffle), so any difference in xs is the augmentation's.
    const e3 = all({ data, seed: 42, epoch: 3, shuffle: false, augmentation: AUG });
    const e4 = all({ data, seed: 42, epoch: 4, shuffle: false, augmentation: AUG });
    expect([...e3[0]!.xs]).not.toEqual([...e4[0]!.xs]);
  });

  it('does not depend on earlier epochs having been iterated', () => {
    const fresh = content(all({ data, seed: 5, epoch: 2, augmentation: AUG }));
    for (const epoch of [0, 1]) all({ data, seed: 5, epoch, augmentation: AUG });
    expect(content(all({ data, seed: 5, epoch: 2, augmentation: AUG }))).toEqual(fresh);
  });

  it('with startBatch k yields exactly batches k… of the full epoch', () => {
    const full = content(all({ data, seed: 9, epoch: 1, augmentation: AUG }));
    for (const k of [1, 2]) {
      expect(content(all({ data, seed: 9, epoch: 1, augmentation: AUG, startBatch: k }))).toEqual(full.slice(k));
    }
    expect(all({ data, startBatch: 3 })).toEqual([]);
  });

  it('leaves the order alone when augmentation is switched on', () => {
    const plain = all({ data, seed: 2, epoch: 6 }).flatMap((b) => [...b.indices]);
    expect(all({ data, seed: 2, epoch: 6, augmentation: AUG }).flatMap((b) => [...b.indices])).toEqual(plain);
  });

  it('actually augments: some pixels differ from the plain rescale, all stay within [0, 1]', () => {
    const plain = all({ data, seed: 2 });
    const augmented = all({ data, seed: 2, augmentation: { ...AUG, fillMode: 'constant', cval: 255 } });
    expect([...augmented[0]!.xs]).not.toEqual([...plain[0]!.xs]);
    for (const b of augmented) for (const v of b.xs) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('hands out a new buffer per batch, so earlier batches stay intact', () => {
    const it = epochBatches({ data, batchSize: 4, seed: 1, epoch: 0, shuffle: true, augmentation: AUG });
    const first = it.next().value as ImageBatch;
    const snapshot = [...first.xs];
    const second = it.next().value as ImageBatch;
    expect(second.xs.buffer).not.toBe(first.xs.buffer);
    expect([...first.xs]).toEqual(snapshot);
  });

  it('handles a batch larger than the split and an empty split', () => {
    expect(all({ data, batchSize: 64 }).map((b) => b.size)).toEqual([10]);
    expect(all({ data: split(0) })).toEqual([]);
  });

  it.each<[string, Partial<EpochBatchOptions>]>([
    ['batchSize', { batchSize: 0 }],
    ['epoch', { epoch: -1 }],
    ['seed', { seed: 1.5 }],
    ['startBatch', { startBatch: 4 }],
    ['data.images', { data: { ...split(3), images: new Uint8Array(5) } }],
    ['data.labels', { data: { ...split(3), labels: new Uint8Array(2) } }],
  ])('rejects a bad %s when called, before any batch, naming the field', (field, bad) => {
    let error: unknown;
    try {
      epochBatches({ data, batchSize: 4, seed: 1, epoch: 0, shuffle: true, ...bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).where.field).toBe(field);
    expect((error as DatasetError).message).toContain(field);
  });

  it('rejects an invalid augmentation config, naming the key', () => {
    const call = () =>
      epochBatches({ data, batchSize: 4, seed: 1, epoch: 0, shuffle: true, augmentation: { rotationRange: -5 } });
    expect(call).toThrow(DatasetError);
    expect(call).toThrow(/augmentation\.rotationRange/);
  });
});
