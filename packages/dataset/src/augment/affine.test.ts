import { describe, expect, it } from '@jest/globals';
import { Random } from '@fersweep/random';
import {
  IDENTITY_TRANSFORM,
  applyTransform,
  sampleTransform,
  type AffineParams,
  type ResampleOptions,
} from './affine.js';

type FillMode = ResampleOptions['fillMode'];
type ScipyMode = FillMode | 'mirror';
const NEAREST: ResampleOptions = { fillMode: 'nearest', cval: 0, rescale: 1 / 255 };
const RAW: ResampleOptions = { fillMode: 'nearest', cval: 0, rescale: 1 };

function params(p: Partial<AffineParams>): AffineParams {
  return { ...IDENTITY_TRANSFORM, ...p };
}

/** Applies `p` to a rows-of-numbers image and returns rows of output values (rescale 1 unless given). */
function transform(img: number[][], p: Partial<AffineParams>, options: Partial<ResampleOptions> = {}): number[][] {
  const H = img.length;
  const W = img[0]!.length;
  const out = new Float32Array(H * W);
  applyTransform(Uint8Array.from(img.flat()), 0, out, 0, params(p), { ...RAW, ...options }, H, W);
  return Array.from({ length: H }, (_, r) => Array.from(out.subarray(r * W, (r + 1) * W)));
}

function randomImage(rng: Random, H: number, W: number): number[][] {
  return Array.from({ length: H }, () => Array.from({ length: W }, () => rng.int(256)));
}

/** A 4×4 image with distinct values, so any rotation or mirror is visible. */
const GRID = [
  [1, 2, 3, 4],
  [5, 6, 7, 8],
  [9, 10, 11, 12],
  [13, 14, 15, 16],
];

describe('applyTransform', () => {
  it('passes an untransformed image through as pixels/255, exactly', () => {
    const src = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Float32Array(256);
    applyTransform(src, 0, out, 0, IDENTITY_TRANSFORM, NEAREST, 16, 16);
    for (let p = 0; p < 256; p++) expect(out[p]).toBe(Math.fround(p / 255));
  });

  it('mirrors every row exactly under a pure horizontal flip', () => {
    expect(transform(GRID, { flipHorizontal: true })).toEqual(GRID.map((row) => [...row].reverse()));
  });

  it('flips after the affine part, as Keras does (a column shift then a mirror)', () => {
    const img = [[10, 20, 30, 40, 50]];
    // Shift first (ty = 2: out[c] = in[min(c + 2, 4)] → 30 40 50 50 50), then mirror.
    expect(transform(img, { ty: 2, flipHorizontal: true })).toEqual([[50, 50, 50, 40, 30]]);
  });

  it('turns the content clockwise (as displayed) for theta = +90°: out[r][c] = in[n−1−c][r]', () => {
    // Keras' matrix is [[cos, −sin], [sin, cos]] on (row, col) and maps output to input, so for 90°
    // input = (centre_r − (c − centre_c), centre_c + (r − centre_r)): the top row lands in the right column.
    const out = transform(GRID, { theta: 90 });
    const n = GRID.length;
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) expect(out[r]![c]).toBeCloseTo(GRID[n - 1 - c]![r]!, 9);
    expect(out.map((row) => Math.round(row[n - 1]!))).toEqual(GRID[0]);
  });

  it('turns the content counter-clockwise for −90° and upside down for 180°', () => {
    const n = GRID.length;
    const ccw = transform(GRID, { theta: -90 });
    const half = transform(GRID, { theta: 180 });
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        expect(ccw[r]![c]).toBeCloseTo(GRID[c]![n - 1 - r]!, 9);
        expect(half[r]![c]).toBeCloseTo(GRID[n - 1 - r]![n - 1 - c]!, 9);
      }
    }
  });

  it('moves the content up by tx rows (tx is along the height), repeating the last row with nearest fill', () => {
    const img = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
      [13, 14, 15, 16],
      [17, 18, 19, 20],
    ];
    expect(transform(img, { tx: 2 })).toEqual([img[2], img[3], img[4], img[4], img[4]]);
  });

  it('moves the content right by 3 columns for ty = −3 (ty is along the width), repeating the first column', () => {
    const img = [
      [10, 20, 30, 40, 50],
      [60, 70, 80, 90, 100],
    ];
    expect(transform(img, { ty: -3 })).toEqual([
      [10, 10, 10, 10, 20],
      [60, 60, 60, 60, 70],
    ]);
  });

  it.each<[FillMode, number, number[]]>([
    // Keras' doc strings for each mode on the row a b c d = 10 20 30 40, sampled at columns c + ty.
    ['nearest', 2, [30, 40, 40, 40]], // aaaa|abcd|dddd
    ['constant', 2, [30, 40, 99, 99]], // kkkk|abcd|kkkk
    ['reflect', 3, [40, 40, 30, 20]], // dcba|abcd|dcba
    ['reflect', -2, [20, 10, 10, 20]],
    // scipy's 'wrap' repeats with period n − 1 (first and last samples overlap), not n as Keras' docs draw it.
    ['wrap', 1, [20, 30, 40, 20]],
    ['wrap', -1, [30, 10, 20, 30]],
  ])('fills with %s when shifted by ty = %d', (fillMode, ty, expected) => {
    expect(transform([[10, 20, 30, 40]], { ty }, { fillMode, cval: 99 })).toEqual([expected]);
  });

  it('fills with cval in input units, rescaled like the pixels', () => {
    const out = transform(
      [
        [0, 0],
        [255, 255],
      ],
      { tx: -1 },
      { fillMode: 'constant', cval: 51, rescale: 1 / 255 },
    );
    expect(out).toEqual([
      [Math.fround(0.2), Math.fround(0.2)],
      [0, 0],
    ]);
  });

  it('averages neighbouring rows for a half-pixel shift (bilinear, scipy order=1)', () => {
    const img = [
      [0, 10, 20],
      [40, 50, 60],
      [100, 200, 250],
    ];
    expect(transform(img, { tx: 0.5 })).toEqual([
      [20, 30, 40],
      [70, 125, 155],
      [100, 200, 250],
    ]);
    expect(transform(img, { tx: 0.5, ty: 0.5 })[0]).toEqual([25, 35, 40]);
  });

  it('shrinks the content about the centre when zoom > 1 (Keras zooms out)', () => {
    // 9×9, centre (4, 4), bright 5×5 square on rows/cols 2…6. With zx = zy = 2, out[r][c] = in[2r−4][2c−4].
    const img = Array.from({ length: 9 }, (_, r) =>
      Array.from({ length: 9 }, (_, c) => (Math.abs(r - 4) <= 2 && Math.abs(c - 4) <= 2 ? 200 : 0)),
    );
    const out = transform(img, { zx: 2, zy: 2 });
    for (let r = 2; r <= 6; r++) for (let c = 2; c <= 6; c++) expect(out[r]![c]).toBe(img[2 * r - 4]![2 * c - 4]);
    expect(out.flat().filter((v) => v === 200)).toHaveLength(9);
  });

  it('enlarges the content when zoom < 1', () => {
    const img = Array.from({ length: 9 }, (_, r) =>
      Array.from({ length: 9 }, (_, c) => (Math.abs(r - 4) <= 1 && Math.abs(c - 4) <= 1 ? 200 : 0)),
    );
    const out = transform(img, { zx: 0.5, zy: 0.5 });
    expect(out.flat().filter((v) => v === 200)).toHaveLength(25);
    expect(out[1]![4]).toBe(100); // halfway between a dark and a bright input row
  });

  it('zooms rows and columns independently (zx along the height)', () => {
    const img = Array.from({ length: 9 }, (_, r) =>
      Array.from({ length: 9 }, (_, c) => (Math.abs(r - 4) <= 2 && Math.abs(c - 4) <= 2 ? 200 : 0)),
    );
    const out = transform(img, { zx: 2 });
    const brightRows = out.filter((row) => row.some((v) => v === 200)).length;
    const brightCols = out[4]!.filter((v) => v === 200).length;
    expect([brightRows, brightCols]).toEqual([3, 5]);
  });

  it('agrees with a literal port of scipy order-1 affine_transform for random transforms and every fill mode', () => {
    const rng = new Random(11);
    for (const fillMode of ['nearest', 'constant', 'reflect', 'wrap'] as const) {
      for (let trial = 0; trial < 40; trial++) {
        const H = 7 + rng.int(6);
        const W = 7 + rng.int(6); // usually not square, so a row/column mix-up shows
        const img = randomImage(rng, H, W);
        const p = sampleTransform(
          rng,
          {
            rotationRange: 180,
            heightShiftRange: 0.6,
            widthShiftRange: 0.6,
            zoomRange: [0.3, 2.5],
            horizontalFlip: true,
          },
          H,
          W,
        );
        const got = transform(img, p, { fillMode, cval: 77 });
        const want = scipyReference(img, p, fillMode, 77);
        for (let r = 0; r < H; r++)
          for (let c = 0; c < W; c++) expect(Math.abs(got[r]![c]! - want[r]![c]!)).toBeLessThan(1e-3);
      }
    }
  });

  it('keeps outputs within [0, 1] with rescale 1/255 under heavy augmentation', () => {
    const rng = new Random(5);
    const H = 48;
    const W = 48;
    const src = Uint8Array.from({ length: H * W }, () => (rng.bool() ? 255 : 0));
    const out = new Float32Array(H * W);
    const config = {
      rotationRange: 180,
      heightShiftRange: 0.5,
      widthShiftRange: 0.5,
      zoomRange: 0.9,
      horizontalFlip: true,
    };
    let lo = Infinity;
    let hi = -Infinity;
    for (const fillMode of ['nearest', 'constant', 'reflect', 'wrap'] as const) {
      for (let i = 0; i < 50; i++) {
        applyTransform(
          src,
          0,
          out,
          0,
          sampleTransform(rng, config, H, W),
          { fillMode, cval: 255, rescale: 1 / 255 },
          H,
          W,
        );
        for (const v of out) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect([lo, hi]).toEqual([0, 1]); // the extremes are reached, so the check above is not vacuous
  });

  it('reads and writes only the image at the given offsets', () => {
    const H = 3;
    const W = 3;
    const src = Uint8Array.from({ length: 3 * H * W }, (_, i) => i);
    const dst = new Float32Array(3 * H * W).fill(-1);
    applyTransform(src, H * W, dst, 2 * H * W, params({ theta: 90 }), RAW, H, W);
    expect(Array.from(dst.subarray(0, 2 * H * W)).every((v) => v === -1)).toBe(true);
    // Rotating the middle image (values 9…17) by 90°: out[0] = in[2][0] = 9 + 6.
    expect(dst[2 * H * W]).toBeCloseTo(15, 9);
    expect(Math.min(...dst.subarray(2 * H * W))).toBeGreaterThanOrEqual(9 - 1e-9);
  });
});

describe('sampleTransform', () => {
  const none = { rotationRange: 0, widthShiftRange: 0, heightShiftRange: 0, zoomRange: 0, horizontalFlip: false };

  it('returns the identity and draws nothing when no option is enabled', () => {
    const rng = new Random(3);
    const before = rng.state();
    expect(sampleTransform(rng, none, 48, 48)).toEqual(IDENTITY_TRANSFORM);
    expect(rng.state()).toEqual(before);
  });

  it('draws every parameter within its Keras range', () => {
    const rng = new Random(4);
    const config = {
      rotationRange: 30,
      heightShiftRange: 0.1,
      widthShiftRange: 3,
      zoomRange: 0.2,
      horizontalFlip: true,
    };
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const p = sampleTransform(rng, config, 20, 100);
      expect(Math.abs(p.theta)).toBeLessThanOrEqual(30);
      expect(Math.abs(p.tx)).toBeLessThanOrEqual(2); // fraction 0.1 of the height (20)
      expect(Math.abs(p.ty)).toBeLessThanOrEqual(3); // ≥ 1 means pixels
      for (const z of [p.zx, p.zy]) {
        expect(z).toBeGreaterThanOrEqual(0.8);
        expect(z).toBeLessThan(1.2);
      }
      if (p.flipHorizontal) flips++;
    }
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
  });

  it('scales a fractional width shift by the width and a height shift by the height', () => {
    const rng = new Random(6);
    const ty = Array.from({ length: 500 }, () => sampleTransform(rng, { ...none, widthShiftRange: 0.5 }, 10, 100).ty);
    const tx = Array.from({ length: 500 }, () => sampleTransform(rng, { ...none, heightShiftRange: 0.5 }, 10, 100).tx);
    expect(Math.max(...ty.map(Math.abs))).toBeGreaterThan(40);
    expect(Math.max(...tx.map(Math.abs))).toBeLessThanOrEqual(5);
  });

  it('draws zx and zy independently from an explicit [lo, hi]', () => {
    const rng = new Random(8);
    const draws = Array.from({ length: 300 }, () => sampleTransform(rng, { ...none, zoomRange: [1.1, 1.3] }, 48, 48));
    expect(draws.every((p) => p.zx >= 1.1 && p.zx < 1.3 && p.zy >= 1.1 && p.zy < 1.3)).toBe(true);
    expect(draws.some((p) => p.zx !== p.zy)).toBe(true);
  });

  it('is a function of the generator state', () => {
    const config = {
      rotationRange: 10,
      heightShiftRange: 0.1,
      widthShiftRange: 0.1,
      zoomRange: 0.1,
      horizontalFlip: true,
    };
    const a = Random.fromState(new Random(9).state());
    const b = Random.fromState(new Random(9).state());
    expect(sampleTransform(a, config, 48, 48)).toEqual(sampleTransform(b, config, 48, 48));
  });
});

/*
 * A literal transcription of what Keras + scipy do, kept deliberately naive and independent of the
 * implementation under test: 3×3 matrices multiplied as numpy would (R·T·Z, then offset to the
 * centre), then scipy ≥ 1.6 NI_GeometricTransform for order 1, including its map_coordinate, and
 * the flip applied afterwards to the output.
 */
function scipyReference(img: number[][], p: AffineParams, mode: FillMode, cval: number): number[][] {
  const H = img.length;
  const W = img[0]!.length;
  const dot = (a: number[][], b: number[][]) =>
    a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
  let m = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const t = (p.theta * Math.PI) / 180;
  m = dot(m, [
    [Math.cos(t), -Math.sin(t), 0],
    [Math.sin(t), Math.cos(t), 0],
    [0, 0, 1],
  ]);
  m = dot(m, [
    [1, 0, p.tx],
    [0, 1, p.ty],
    [0, 0, 1],
  ]);
  m = dot(m, [
    [p.zx, 0, 0],
    [0, p.zy, 0],
    [0, 0, 1],
  ]);
  const ox = H / 2 - 0.5;
  const oy = W / 2 - 0.5;
  m = dot(
    dot(
      [
        [1, 0, ox],
        [0, 1, oy],
        [0, 0, 1],
      ],
      m,
    ),
    [
      [1, 0, -ox],
      [0, 1, -oy],
      [0, 0, 1],
    ],
  );
  const dims = [H, W];
  const splineMode: ScipyMode = mode === 'constant' || mode === 'wrap' ? 'mirror' : mode;
  const out = img.map((row, r) =>
    row.map((_, c) => {
      const coords = [m[0]![0]! * r + m[0]![1]! * c + m[0]![2]!, m[1]![0]! * r + m[1]![1]! * c + m[1]![2]!];
      const taps: number[][] = [];
      const weights: number[][] = [];
      for (let axis = 0; axis < 2; axis++) {
        const len = dims[axis]!;
        const cc = mode === 'nearest' ? coords[axis]! : mapCoordinate(coords[axis]!, len, mode);
        if (!(cc > -1 || mode === 'nearest')) return cval;
        const start = Math.floor(cc);
        const w0 = 1 - (cc - start);
        taps.push([start, start + 1].map((i) => (i < 0 || i >= len ? mapCoordinate(i, len, splineMode) : i)));
        weights.push([w0, 1 - w0]);
      }
      let sum = 0;
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 2; b++) sum += img[taps[0]![a]!]![taps[1]![b]!]! * weights[0]![a]! * weights[1]![b]!;
      return sum;
    }),
  );
  return p.flipHorizontal ? out.map((row) => row.reverse()) : out;
}

/** scipy/ndimage/src/ni_interpolation.c map_coordinate, for the modes Keras exposes plus 'mirror'. */
function mapCoordinate(x: number, len: number, mode: ScipyMode): number {
  let v = x;
  if (v < 0) {
    switch (mode) {
      case 'mirror': {
        if (len <= 1) return 0;
        const sz2 = 2 * len - 2;
        v = sz2 * Math.trunc(-v / sz2) + v;
        return v <= 1 - len ? v + sz2 : -v;
      }
      case 'reflect': {
        if (len <= 1) return 0;
        const sz2 = 2 * len;
        if (v < -sz2) v = sz2 * Math.trunc(-v / sz2) + v;
        return v < -len ? v + sz2 : -v - 1;
      }
      case 'wrap': {
        if (len <= 1) return 0;
        const sz = len - 1;
        return v + sz * (Math.trunc(-v / sz) + 1);
      }
      case 'nearest':
        return 0;
      case 'constant':
        return -1;
    }
  } else if (v > len - 1) {
    switch (mode) {
      case 'mirror': {
        if (len <= 1) return 0;
        const sz2 = 2 * len - 2;
        v -= sz2 * Math.trunc(v / sz2);
        return v >= len ? sz2 - v : v;
      }
      case 'reflect': {
        if (len <= 1) return 0;
        const sz2 = 2 * len;
        v -= sz2 * Math.trunc(v / sz2);
        return v >= len ? sz2 - v - 1 : v;
      }
      case 'wrap': {
        if (len <= 1) return 0;
        const sz = len - 1;
        return v - sz * Math.trunc(v / sz);
      }
      case 'nearest':
        return len - 1;
      case 'constant':
        return -1;
    }
  }
  return v;
}
