import { describe, expect, it } from '@jest/globals';
import { DatasetManifest, keys, EMOTIONS } from '@fersweep/contracts';

const sha = 'a'.repeat(64);
const split = (n: number) => ({
  count: n,
  classCounts: [n, 0, 0, 0, 0, 0, 0],
  shards: [{ key: 'shards/train-00000.arrow', count: n, sha256: sha, bytes: 10 }],
});
const manifest = {
  format: 'fersweep-dataset/v1',
  name: 'fer2013',
  createdAt: new Date(0).toISOString(),
  image: { height: 48, width: 48, channels: 1 },
  classes: [...EMOTIONS],
  source: { kind: 'synthetic', sha256: sha, seed: 7 },
  splits: { train: split(3), val: split(1), test: split(2) },
};

describe('DatasetManifest', () => {
  it('accepts the documented manifest shape', () => {
    expect(DatasetManifest.parse(manifest).splits.train.count).toBe(3);
  });
  it('rejects a split whose class counts do not add up to its count', () => {
    const bad = {
      ...manifest,
      splits: { ...manifest.splits, val: { ...split(1), classCounts: [2, 0, 0, 0, 0, 0, 0] } },
    };
    const r = DatasetManifest.safeParse(bad);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['splits', 'val']);
  });
  it('lays shard keys out as split-nnnnn.arrow', () => {
    expect(keys.shard('val', 12)).toBe('shards/val-00012.arrow');
  });
});
