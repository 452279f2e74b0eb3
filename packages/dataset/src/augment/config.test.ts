import { describe, expect, it } from '@jest/globals';
import { AugmentationConfig } from '@fersweep/contracts';
import { isAugmenting, zoomBounds } from './affine.js';

describe('AugmentationConfig', () => {
  it('defaults to no augmentation and a rescale to [0, 1]', () => {
    expect(AugmentationConfig.parse({})).toEqual({
      rotationRange: 0,
      widthShiftRange: 0,
      heightShiftRange: 0,
      zoomRange: 0,
      horizontalFlip: false,
      fillMode: 'nearest',
      cval: 0,
      rescale: 1 / 255,
    });
    expect(isAugmenting(AugmentationConfig.parse({}))).toBe(false);
  });

  it('reads a single zoom z as [1 − z, 1 + z] and keeps an explicit [lo, hi]', () => {
    expect(zoomBounds(AugmentationConfig.parse({ zoomRange: 0.25 }).zoomRange)).toEqual([0.75, 1.25]);
    expect(zoomBounds(AugmentationConfig.parse({ zoomRange: [0.9, 1.4] }).zoomRange)).toEqual([0.9, 1.4]);
  });

  it('rejects an unknown key and names it', () => {
    const r = AugmentationConfig.safeParse({ rotation_range: 10 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.code).toBe('unrecognized_keys');
    expect(r.error?.message).toContain('rotation_range');
  });

  it.each([
    ['a negative rotation', { rotationRange: -1 }, 'rotationRange'],
    ['a negative shift', { widthShiftRange: -0.1 }, 'widthShiftRange'],
    ['a single zoom of 1 or more', { zoomRange: 1 }, 'zoomRange'],
    ['a zoom pair with lo > hi', { zoomRange: [1.2, 0.8] }, 'zoomRange'],
    ['a non-positive zoom bound', { zoomRange: [0, 1] }, 'zoomRange'],
    ['an unknown fill mode', { fillMode: 'mirror' }, 'fillMode'],
    ['a cval outside 0–255', { cval: 300 }, 'cval'],
    ['a zero rescale', { rescale: 0 }, 'rescale'],
  ])('rejects %s at the offending field', (_what, input, field) => {
    const r = AugmentationConfig.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path[0]).toBe(field);
  });

  it.each([
    { rotationRange: 10 },
    { widthShiftRange: 0.1 },
    { heightShiftRange: 2 },
    { zoomRange: 0.1 },
    { zoomRange: [1, 1.2] },
    { horizontalFlip: true },
  ])('counts %j as augmenting', (input) => {
    expect(isAugmenting(AugmentationConfig.parse(input))).toBe(true);
  });

  it('does not count fill mode, cval or rescale as augmenting', () => {
    expect(
      isAugmenting(AugmentationConfig.parse({ fillMode: 'constant', cval: 128, rescale: 1, zoomRange: [1, 1] })),
    ).toBe(false);
  });
});
