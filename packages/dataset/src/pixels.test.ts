import { describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { parsePixels, toFerPixels } from './pixels.js';

const row = (n: number, v = 7) => Array.from({ length: n }, () => v).join(' ');

describe('parsePixels', () => {
  it('parses 2,304 space-separated values 0–255', () => {
    const out = new Uint8Array(2304);
    expect(parsePixels(Array.from({ length: 2304 }, (_, i) => i % 256).join(' '), out)).toBeUndefined();
    expect(out[255]).toBe(255);
    expect(out[256]).toBe(0);
  });
  it('tolerates a trailing CR and repeated spaces', () => {
    expect(parsePixels(`${row(2304)}\r`, new Uint8Array(2304))).toBeUndefined();
    expect(parsePixels(`1  2 ${row(2302)}`, new Uint8Array(2304))).toBeUndefined();
  });
  it.each([
    [row(2303), /has 2303 pixels, expected 2304/],
    [row(2305), /more than 2304 pixels/],
    [`${row(10)} 256 ${row(2293)}`, /pixel 11 is out of range 0–255/],
    [`${row(10)} -1 ${row(2293)}`, /pixel 11 is out of range/],
    [`${row(4)} abc ${row(2299)}`, /pixel 5 is not a number \('abc'\)/],
    [`${row(4)} 1.5 ${row(2299)}`, /pixel 5 is not a number/],
  ])('names the problem in %#', (text, message) => {
    expect(parsePixels(text, new Uint8Array(2304))).toMatch(message);
  });
});

describe('toFerPixels', () => {
  it('turns any size and colour into 48×48 grayscale', async () => {
    const rgb = await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .jpeg()
      .toBuffer();
    const px = await toFerPixels(rgb);
    expect(px.length).toBe(2304);
    // BT.601 luma of pure red: 0.299 × 255 = 76 (JPEG chroma rounding may move it by a few).
    expect(px[1000]).toBeGreaterThan(70);
    expect(px[1000]).toBeLessThan(82);
  });
  it('flattens transparency onto black', async () => {
    const rgba = await sharp({
      create: { width: 48, height: 48, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } },
    })
      .png()
      .toBuffer();
    expect((await toFerPixels(rgba))[0]).toBe(0);
  });
  it('rejects bytes that are not an image', async () => {
    await expect(toFerPixels(Buffer.from('not an image'))).rejects.toThrow();
  });
});
