import { describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { cropToFerPixels, squareAround } from './crop.js';
import { toFerPixels } from './pixels.js';

describe('face crops', () => {
  it('cuts a square around the box with a margin, moved inside the image', () => {
    expect(squareAround({ x: 100, y: 50, width: 40, height: 50 }, { width: 400, height: 300 }, 0.2)).toEqual({
      left: 85,
      top: 40,
      width: 70,
      height: 70,
    });
    // At the top-left corner the square slides in rather than shrinking.
    expect(squareAround({ x: 0, y: 0, width: 50, height: 50 }, { width: 400, height: 300 })).toEqual({
      left: 0,
      top: 0,
      width: 70,
      height: 70,
    });
    // Larger than the image: as large as the image allows.
    expect(squareAround({ x: 5, y: 5, width: 60, height: 60 }, { width: 64, height: 48 })).toEqual({
      left: 11,
      top: 0,
      width: 48,
      height: 48,
    });
  });

  it('converts a crop exactly as a whole file of the same pixels', async () => {
    const width = 90;
    const height = 70;
    const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + (i % 3) * 91) % 256);
    const region = { left: 20, top: 10, width: 60, height: 60 };
    const asFile = await sharp(data, { raw: { width, height, channels: 3 } })
      .extract(region)
      .png()
      .toBuffer();
    expect(await cropToFerPixels({ data, width, height, channels: 3 }, region)).toEqual(await toFerPixels(asFile));
  });
});
