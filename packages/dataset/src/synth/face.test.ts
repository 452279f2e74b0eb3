import { describe, expect, it } from '@jest/globals';
import { FER_PIXELS, NUM_CLASSES } from '@fersweep/contracts';
import { Random } from '@fersweep/random';
import { imageRandom, renderExpression, renderFace, sampleExpression } from './index.js';

function stats(px: Uint8Array): { min: number; max: number; std: number } {
  let min = 255;
  let max = 0;
  let s = 0;
  let s2 = 0;
  for (const v of px) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    s += v;
    s2 += v * v;
  }
  const mean = s / px.length;
  return { min, max, std: Math.sqrt(s2 / px.length - mean * mean) };
}

describe('renderFace', () => {
  it('renders a 48×48 image that uses a wide intensity range and is not flat', () => {
    for (let label = 0; label < NUM_CLASSES; label++) {
      for (let k = 0; k < 20; k++) {
        const px = renderFace(label, imageRandom(label, k));
        expect(px).toBeInstanceOf(Uint8Array);
        expect(px).toHaveLength(FER_PIXELS);
        const { min, max, std } = stats(px);
        expect(max - min).toBeGreaterThan(60);
        expect(std).toBeGreaterThan(8);
      }
    }
  });

  it('covers most of the 0–255 range across a batch, like camera images', () => {
    let lo = 255;
    let hi = 0;
    for (let k = 0; k < 70; k++) {
      const { min, max } = stats(renderFace(k % NUM_CLASSES, imageRandom(100, k)));
      lo = Math.min(lo, min);
      hi = Math.max(hi, max);
    }
    expect(lo).toBeLessThan(15);
    expect(hi).toBeGreaterThan(240);
  });

  it('draws two different faces for two draws of the same class', () => {
    const rng = new Random(77);
    for (let label = 0; label < NUM_CLASSES; label++) {
      const a = renderFace(label, rng);
      const b = renderFace(label, rng);
      let diff = 0;
      for (let i = 0; i < FER_PIXELS; i++) diff += Math.abs(a[i]! - b[i]!);
      expect(diff / FER_PIXELS).toBeGreaterThan(5);
    }
  });

  it('gives the same bytes for the same generator state, whatever was rendered before', () => {
    const first = renderFace(3, imageRandom(5, 5));
    for (let k = 0; k < 5; k++) renderFace(k, imageRandom(6, k));
    expect(Buffer.from(renderFace(3, imageRandom(5, 5))).equals(Buffer.from(first))).toBe(true);
  });

  it('writes into the given buffer and rejects one of the wrong size', () => {
    const out = new Uint8Array(FER_PIXELS);
    expect(renderFace(0, imageRandom(1, 1), out)).toBe(out);
    expect(out.some((v) => v !== 0)).toBe(true);
    expect(() => renderFace(0, imageRandom(1, 1), new Uint8Array(10))).toThrow(/2304/);
  });

  it('rejects a label outside 0..6', () => {
    expect(() => renderFace(7, new Random(1))).toThrow(RangeError);
    expect(() => renderFace(-1, new Random(1))).toThrow(RangeError);
    expect(() => renderFace(1.5, new Random(1))).toThrow(RangeError);
  });
});

describe('renderExpression', () => {
  it('shows the mouth opening as expression intensity rises', () => {
    // Same person, pose and light; only the surprise intensity changes. The open mouth is the
    // darkest region of the lower face, so its dark-pixel count must grow.
    const dark = (px: Uint8Array): number => {
      let n = 0;
      const sorted = [...px].sort((a, b) => a - b);
      const threshold = sorted[Math.floor(px.length * 0.1)]!;
      for (let i = 30 * 48; i < 44 * 48; i++) if (px[i]! <= threshold) n++;
      return n;
    };
    let grew = 0;
    for (let k = 0; k < 10; k++) {
      const weak = sampleExpression(5, imageRandom(50, k), { upper: 0.1, lower: 0.1 });
      const strong = { ...weak, mouthOpen: weak.mouthOpen + 0.12, mouthRound: 1, mouthWidth: weak.mouthWidth * 0.75 };
      if (dark(renderExpression(strong, imageRandom(51, k))) > dark(renderExpression(weak, imageRandom(51, k)))) grew++;
    }
    expect(grew).toBeGreaterThanOrEqual(8);
  });
});
