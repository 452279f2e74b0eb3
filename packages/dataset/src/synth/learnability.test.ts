import { beforeAll, describe, expect, it } from '@jest/globals';
import { EMOTIONS, NUM_CLASSES } from '@fersweep/contracts';
import { synthesize } from './index.js';

/*
 * The synthetic faces must be learnable but not trivially so, with FER2013's confusions. A
 * plain linear classifier — shrinkage LDA on 16×16 average-pooled, per-image standardised pixels,
 * closed form so the result does not hinge on an optimiser's schedule — stands in for a model.
 * It scores about 0.45–0.5 here; a small 3-conv CNN trained on 6,000 of these faces reached ~0.70
 * (balanced classes) and was still improving, with the same confusable pairs. That is the shape
 * of real FER2013, where raw-pixel linear models sit near 0.35–0.45 and CNNs near 0.65–0.75.
 */

const POOL = 3;
const SIDE = 48 / POOL;
const DIM = SIDE * SIDE;

// Pixel → pooled cell, precomputed: calling Math (a global) per pixel is slow inside jest's sandbox.
const CELL = Int32Array.from(
  { length: 48 * 48 },
  (_, i) => Math.floor(Math.floor(i / 48) / POOL) * SIDE + Math.floor((i % 48) / POOL),
);

function features(pixels: Uint8Array): Float64Array {
  const f = new Float64Array(DIM);
  for (let i = 0; i < pixels.length; i++) f[CELL[i]!]! += pixels[i]!;
  // Per-image standardisation removes brightness and contrast, as any FER pipeline does.
  let mean = 0;
  for (const v of f) mean += v / DIM;
  let sq = 0;
  for (let j = 0; j < DIM; j++) {
    f[j] = f[j]! - mean;
    sq += f[j]! * f[j]!;
  }
  const sd = Math.sqrt(sq / DIM) || 1;
  for (let j = 0; j < DIM; j++) f[j] = f[j]! / sd;
  return f;
}

interface Lda {
  weights: Float64Array[];
  biases: number[];
}

/** Linear discriminant analysis with the pooled covariance shrunk toward a scaled identity. */
function fitLda(xs: readonly Float64Array[], ys: readonly number[], shrinkage: number): Lda {
  const means = Array.from({ length: NUM_CLASSES }, () => new Float64Array(DIM));
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  xs.forEach((x, n) => {
    const m = means[ys[n]!]!;
    counts[ys[n]!]! += 1;
    for (let j = 0; j < DIM; j++) m[j]! += x[j]!;
  });
  means.forEach((m, k) => m.forEach((v, j) => (m[j] = v / Math.max(1, counts[k]!))));

  const cov = new Float64Array(DIM * DIM);
  const r = new Float64Array(DIM);
  xs.forEach((x, n) => {
    const m = means[ys[n]!]!;
    for (let j = 0; j < DIM; j++) r[j] = x[j]! - m[j]!;
    for (let a = 0; a < DIM; a++) {
      const ra = r[a]!;
      for (let b = a; b < DIM; b++) cov[a * DIM + b]! += ra * r[b]!;
    }
  });
  let trace = 0;
  for (let a = 0; a < DIM; a++) {
    for (let b = a; b < DIM; b++) {
      const c = cov[a * DIM + b]! / (xs.length - NUM_CLASSES);
      cov[a * DIM + b] = c;
      cov[b * DIM + a] = c;
    }
    trace += cov[a * DIM + a]!;
  }
  for (let a = 0; a < DIM; a++) {
    for (let b = 0; b < DIM; b++)
      cov[a * DIM + b] = (1 - shrinkage) * cov[a * DIM + b]! + (a === b ? (shrinkage * trace) / DIM : 0);
  }

  // Cholesky factor, then solve Σ w_k = μ_k for each class.
  const L = new Float64Array(DIM * DIM);
  for (let i = 0; i < DIM; i++) {
    for (let j = 0; j <= i; j++) {
      let s = cov[i * DIM + j]!;
      for (let k = 0; k < j; k++) s -= L[i * DIM + k]! * L[j * DIM + k]!;
      L[i * DIM + j] = i === j ? Math.sqrt(s) : s / L[j * DIM + j]!;
    }
  }
  const solve = (rhs: Float64Array): Float64Array => {
    const y = new Float64Array(DIM);
    for (let i = 0; i < DIM; i++) {
      let s = rhs[i]!;
      for (let k = 0; k < i; k++) s -= L[i * DIM + k]! * y[k]!;
      y[i] = s / L[i * DIM + i]!;
    }
    const w = new Float64Array(DIM);
    for (let i = DIM - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < DIM; k++) s -= L[k * DIM + i]! * w[k]!;
      w[i] = s / L[i * DIM + i]!;
    }
    return w;
  };
  const weights = means.map(solve);
  const biases = means.map((m, k) => -0.5 * m.reduce((s, v, j) => s + v * weights[k]![j]!, 0));
  return { weights, biases };
}

function predict(model: Lda, x: Float64Array): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let k = 0; k < NUM_CLASSES; k++) {
    const w = model.weights[k]!;
    let s = model.biases[k]!;
    for (let j = 0; j < DIM; j++) s += w[j]! * x[j]!;
    if (s > bestScore) {
      bestScore = s;
      best = k;
    }
  }
  return best;
}

/** Share of `a` predicted as `b` and of `b` predicted as `a`, averaged: how often the pair is mixed up. */
function pairConfusion(confusion: readonly number[][], a: number, b: number): number {
  const rowA = confusion[a]!;
  const rowB = confusion[b]!;
  const total = (row: readonly number[]): number => row.reduce((s, v) => s + v, 0);
  return (rowA[b]! / total(rowA) + rowB[a]! / total(rowB)) / 2;
}

const label = (name: (typeof EMOTIONS)[number]): number => EMOTIONS.indexOf(name);

describe('synthetic faces are learnable like FER2013', () => {
  let accuracy = 0;
  const confusion = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));

  beforeAll(() => {
    // Balanced classes so chance is 1/7 and every pair's confusion is measured on ~140 test faces.
    const rows = [
      ...synthesize({
        count: 4000,
        seed: 2024,
        classWeights: [1, 1, 1, 1, 1, 1, 1],
        usageFractions: { training: 3000, publicTest: 1000, privateTest: 0 },
      }),
    ];
    const train = rows.filter((r) => r.usage === 'Training');
    const test = rows.filter((r) => r.usage === 'PublicTest');
    const model = fitLda(
      train.map((r) => features(r.pixels)),
      train.map((r) => r.label),
      0.1,
    );
    let correct = 0;
    for (const r of test) {
      const p = predict(model, features(r.pixels));
      confusion[r.label]![p]! += 1;
      if (p === r.label) correct++;
    }
    accuracy = correct / test.length;
  });

  it('lets a linear model on pixels beat chance (1/7) by far, but not come near perfect', () => {
    expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(1000);
    expect(accuracy).toBeGreaterThan(0.35);
    expect(accuracy).toBeLessThan(0.95);
  });

  it('confuses fear/surprise, angry/disgust and sad/neutral more than happy/surprise or happy/angry', () => {
    const distinct = Math.max(
      pairConfusion(confusion, label('happy'), label('surprise')),
      pairConfusion(confusion, label('happy'), label('angry')),
    );
    for (const [a, b] of [
      ['fear', 'surprise'],
      ['angry', 'disgust'],
      ['sad', 'neutral'],
    ] as const) {
      expect(pairConfusion(confusion, label(a), label(b))).toBeGreaterThan(1.5 * distinct);
    }
  });

  it('recognises every class above chance', () => {
    confusion.forEach((row, k) => expect(row[k]! / row.reduce((s, v) => s + v, 0)).toBeGreaterThan(1 / NUM_CLASSES));
  });
});
