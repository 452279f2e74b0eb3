import sharp from 'sharp';
import { FER_IMAGE, FER_PIXELS } from '@fersweep/contracts';

/**
 * Parses FER2013's `pixels` field (space-separated integers 0–255) into `out`.
 * Returns an error description instead of throwing so the caller can add the line number.
 * Hand-rolled on purpose: it is the import's hot loop (2,304 numbers a row), and a
 * split(' ').map(Number) costs several times more while accepting "1e2" or "0x10".
 */
export function parsePixels(text: string, out: Uint8Array, expected = FER_PIXELS): string | undefined {
  let n = 0;
  let value = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) {
      value = value < 0 ? c - 48 : value * 10 + (c - 48);
      if (value > 255) return `pixel ${n + 1} is out of range 0–255`;
    } else if (c === 32 || c === 9 || c === 13) {
      if (value >= 0) {
        if (n >= expected) return `has more than ${expected} pixels`;
        out[n++] = value;
        value = -1;
      }
    } else {
      const bad = text.slice(i, text.indexOf(' ', i) < 0 ? undefined : text.indexOf(' ', i)).slice(0, 20);
      return c === 45 ? `pixel ${n + 1} is out of range 0–255 ('${bad}')` : `pixel ${n + 1} is not a number ('${bad}')`;
    }
  }
  return n === expected ? undefined : `has ${n} pixels, expected ${expected} (${FER_IMAGE.width}×${FER_IMAGE.height})`;
}

/**
 * Decodes any image sharp can read (PNG, JPEG, WebP, GIF, TIFF…; any size, colour or alpha) into
 * FER2013's input: 48×48 grayscale, centre-cropped to square then resized with a Lanczos filter.
 * Training import and `fersweep predict` both go through here, so a face is preprocessed the same way.
 */
export async function toFerPixels(input: Buffer | string): Promise<Uint8Array> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .rotate() // honour EXIF orientation
    .flatten({ background: '#000000' })
    .grayscale()
    .resize(FER_IMAGE.width, FER_IMAGE.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || data.length !== FER_PIXELS) {
    throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected 48×48×1`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
