import sharp from 'sharp';
import { FER_IMAGE } from '@fersweep/contracts';
import { luma } from './pixels.js';

/** A decoded image: `channels` bytes a pixel, row-major (what sharp's `.raw()` gives). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A rectangle in whole pixels. */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The square to cut around a detected face, FER2013-style: centred on the box, its side the box's
 * longer side plus `margin` of it on each side (FER2013's crops show the whole face with a little
 * hair and chin; detectors box brows to chin), moved inside the image where it sticks out, and
 * shrunk only when the image is smaller than the square.
 */
export function squareAround(
  box: { x: number; y: number; width: number; height: number },
  image: { width: number; height: number },
  margin = 0.2,
): Region {
  const side = Math.max(
    1,
    Math.min(Math.round(Math.max(box.width, box.height) * (1 + 2 * margin)), image.width, image.height),
  );
  const clamp = (v: number, max: number) => Math.min(Math.max(0, Math.round(v)), max);
  return {
    left: clamp(box.x + box.width / 2 - side / 2, image.width - side),
    top: clamp(box.y + box.height / 2 - side / 2, image.height - side),
    width: side,
    height: side,
  };
}

/**
 * Cuts `region` out of a decoded image and converts it exactly as {@link toFerPixels} converts a
 * whole file (Lanczos to 48×48, BT.601 luma), so a face cut out of a photo looks to a model as
 * its training images did.
 */
export async function cropToFerPixels(image: RawImage, region: Region): Promise<Uint8Array> {
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .extract(region)
    .resize(FER_IMAGE.width, FER_IMAGE.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return luma(data, info);
}
