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
 * FER2013's input: centre-cropped to square, resized to 48×48 with a Lanczos filter, then converted
 * to grayscale with ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B) — what PIL's `convert('L')` and
 * OpenCV's `COLOR_BGR2GRAY` compute, so faces look as they would to a Keras/OpenCV pipeline
 * (libvips' own b-w conversion uses CIE L*, which renders red 60% lighter). Training import and
 * `fersweep predict` both go through here, so a face is preprocessed the same way everywhere.
 */
export async function toFerPixels(input: Buffer | string): Promise<Uint8Array> {
  const { data, info } = await sharp(input, { failOn: 'error' })
    .rotate() // honour EXIF orientation
    .flatten({ background: '#000000' })
    .resize(FER_IMAGE.width, FER_IMAGE.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return luma(data, info);
}

/** BT.601 luma of a decoded 48×48 image of 1–4 channels (see {@link toFerPixels}). */
export function luma(data: Uint8Array, info: { width: number; height: number; channels: number }): Uint8Array {
  const n = info.width * info.height;
  if (n !== FER_PIXELS) throw new Error(`decoded to ${info.width}×${info.height}, expected 48×48`);
  const out = new Uint8Array(FER_PIXELS);
  const ch = info.channels;
  if (ch === 1 || ch === 2) {
    for (let i = 0; i < n; i++) out[i] = data[i * ch]!;
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * ch;
      out[i] = Math.round(0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!);
    }
  }
  return out;
}
