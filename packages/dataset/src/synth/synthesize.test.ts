import { describe, expect, it } from '@jest/globals';
import { FER2013_CLASS_COUNTS, NUM_CLASSES } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import {
  allocate,
  allocateByClass,
  FER2013_USAGE_FRACTIONS,
  FER_USAGES,
  imageRandom,
  renderFace,
  synthesize,
  type SyntheticImage,
} from './index.js';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function countBy(rows: readonly SyntheticImage[]): { labels: number[]; table: number[][] } {
  const labels = new Array<number>(NUM_CLASSES).fill(0);
  const table = labels.map(() => FER_USAGES.map(() => 0));
  for (const r of rows) {
    labels[r.label]! += 1;
    table[r.label]![FER_USAGES.indexOf(r.usage)]! += 1;
  }
  return { labels, table };
}

describe('allocate', () => {
  it('splits a count by largest remainder, ties going to the lower index', () => {
    expect(allocate(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocate(7, [0.5, 0.25, 0.25])).toEqual([3, 2, 2]);
    expect(allocate(5, [3, 0, 1])).toEqual([4, 0, 1]);
    expect(allocate(0, [1, 2])).toEqual([0, 0]);
  });

  it('reproduces FER2013 class counts from FER2013 weights', () => {
    expect(allocate(35887, FER2013_CLASS_COUNTS)).toEqual([...FER2013_CLASS_COUNTS]);
  });

  it('keeps every share within one of its quota and sums to the count', () => {
    for (const count of [1, 13, 100, 999, 35887]) {
      const shares = allocate(count, FER2013_CLASS_COUNTS);
      expect(sum(shares)).toBe(count);
      const total = sum(FER2013_CLASS_COUNTS);
      shares.forEach((s, i) => expect(Math.abs(s - (count * FER2013_CLASS_COUNTS[i]!) / total)).toBeLessThan(1));
    }
  });

  it('rejects negative weights, an all-zero weight vector and a fractional count with DatasetError', () => {
    expect(() => allocate(10, [1, -1])).toThrow(DatasetError);
    expect(() => allocate(10, [0, 0])).toThrow(/positive sum/);
    expect(() => allocate(2.5, [1])).toThrow(/non-negative integer/);
  });
});

describe('allocateByClass', () => {
  it("splits FER2013's classes into exactly 28709/3589/3589, each cell the floor or ceiling of its share", () => {
    const fractions = [
      FER2013_USAGE_FRACTIONS.training,
      FER2013_USAGE_FRACTIONS.publicTest,
      FER2013_USAGE_FRACTIONS.privateTest,
    ];
    const table = allocateByClass(FER2013_CLASS_COUNTS, fractions);
    expect(FER_USAGES.map((_, u) => sum(table.map((row) => row[u]!)))).toEqual([28709, 3589, 3589]);
    table.forEach((row, c) => {
      expect(sum(row)).toBe(FER2013_CLASS_COUNTS[c]);
      row.forEach((cell, u) =>
        expect(Math.abs(cell - (FER2013_CLASS_COUNTS[c]! * fractions[u]!) / 35887)).toBeLessThan(1),
      );
    });
  });

  it('balances rows and columns for awkward small tables', () => {
    for (const [rows, fractions] of [
      [
        [1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1],
      ],
      [
        [3, 0, 5, 2, 7, 1, 4],
        [0.7, 0.2, 0.1],
      ],
      [
        [2, 2, 2],
        [1, 1, 1, 1, 1],
      ],
      [
        [11, 1, 1],
        [0.5, 0.5, 0],
      ],
    ] as const) {
      const table = allocateByClass(rows, fractions);
      const total = sum(rows);
      expect(fractions.map((_, u) => sum(table.map((row) => row[u]!)))).toEqual(allocate(total, fractions));
      table.forEach((row, c) => expect(sum(row)).toBe(rows[c]));
      table.forEach((row, c) =>
        row.forEach((cell, u) => expect(Math.abs(cell - (rows[c]! * fractions[u]!) / sum(fractions))).toBeLessThan(1)),
      );
    }
  });
});

describe('synthesize', () => {
  it('gives byte-identical images, labels and usages for the same seed', () => {
    const a = [...synthesize({ count: 40, seed: 42 })];
    const b = [...synthesize({ count: 40, seed: 42 })];
    expect(b.map((r) => [r.index, r.label, r.usage])).toEqual(a.map((r) => [r.index, r.label, r.usage]));
    a.forEach((r, i) => expect(Buffer.from(b[i]!.pixels).equals(Buffer.from(r.pixels))).toBe(true));
  });

  it('gives different images and label order for a different seed', () => {
    const a = [...synthesize({ count: 40, seed: 1 })];
    const b = [...synthesize({ count: 40, seed: 2 })];
    expect(a.filter((r, i) => Buffer.from(r.pixels).equals(Buffer.from(b[i]!.pixels)))).toHaveLength(0);
    expect(a.map((r) => r.label)).not.toEqual(b.map((r) => r.label));
  });

  it('renders image i from (seed, i) alone, so any row can be regenerated on its own', () => {
    const rows = [...synthesize({ count: 30, seed: 9 })];
    for (const r of [rows[0]!, rows[17]!, rows[29]!]) {
      expect(Buffer.from(renderFace(r.label, imageRandom(9, r.index))).equals(Buffer.from(r.pixels))).toBe(true);
    }
  });

  it('matches the largest-remainder allocation of classes exactly', () => {
    for (const [count, classWeights] of [
      [210, undefined],
      [150, [1, 1, 1, 1, 1, 1, 1]],
      [61, [0, 1, 0, 2, 0, 0, 1]],
      [97, [5, 0.5, 5, 9, 6, 4, 6]],
    ] as const) {
      const rows = [...synthesize({ count, seed: 3, classWeights })];
      expect(rows).toHaveLength(count);
      expect(countBy(rows).labels).toEqual(allocate(count, classWeights ?? FER2013_CLASS_COUNTS));
    }
  });

  it('splits usages per class so each split keeps the imbalance, Training rows first as in fer2013.csv', () => {
    const usageFractions = { training: 0.6, publicTest: 0.25, privateTest: 0.15 };
    const rows = [...synthesize({ count: 300, seed: 5, usageFractions })];
    const { labels, table } = countBy(rows);
    expect(table).toEqual(allocateByClass(labels, [0.6, 0.25, 0.15]));
    expect(FER_USAGES.map((u) => rows.filter((r) => r.usage === u).length)).toEqual(allocate(300, [0.6, 0.25, 0.15]));
    const order = rows.map((r) => FER_USAGES.indexOf(r.usage));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(rows.map((r) => r.index)).toEqual(rows.map((_, i) => i));
  });

  it("defaults to FER2013's 80/10/10 usage split", () => {
    const rows = [...synthesize({ count: 100, seed: 8 })];
    expect(FER_USAGES.map((u) => rows.filter((r) => r.usage === u).length)).toEqual(allocate(100, [28709, 3589, 3589]));
  });

  it('shuffles labels within a usage instead of grouping them', () => {
    const labels = [
      ...synthesize({
        count: 140,
        seed: 4,
        classWeights: [1, 1, 1, 1, 1, 1, 1],
        usageFractions: { training: 1, publicTest: 0, privateTest: 0 },
      }),
    ].map((r) => r.label);
    const runs = labels.filter((l, i) => i > 0 && l !== labels[i - 1]).length;
    expect(runs).toBeGreaterThan(80);
  });

  it('yields nothing for count 0', () => {
    expect([...synthesize({ count: 0, seed: 1 })]).toEqual([]);
  });

  it('rejects bad options with DatasetError at the call, before any row is drawn', () => {
    expect(() => synthesize({ count: 10, seed: 1, classWeights: [1, 2, 3] })).toThrow(/7 entries/);
    expect(() => synthesize({ count: 10, seed: 0.5 })).toThrow(DatasetError);
    expect(() => synthesize({ count: -1, seed: 1 })).toThrow(/count must be a non-negative integer/);
    expect(() => synthesize({ count: 10, seed: 1, classWeights: [1, 1, 1, Number.NaN, 1, 1, 1] })).toThrow(
      DatasetError,
    );
    expect(() =>
      synthesize({ count: 10, seed: 1, usageFractions: { training: 0, publicTest: 0, privateTest: 0 } }),
    ).toThrow(/positive sum/);
  });
});
