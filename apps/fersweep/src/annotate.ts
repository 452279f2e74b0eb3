import { rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

export interface Annotation {
  box: { x: number; y: number; width: number; height: number };
  /** Lines written above the box: the face's number and each model's verdict. */
  label: string;
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** An SVG the size of the image with a box and a labelled tag per face (sharp composites it). */
export function overlaySvg(width: number, height: number, faces: Annotation[]): string {
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 300));
  const font = Math.max(12, Math.round(Math.max(width, height) / 45));
  const parts = faces.map((f) => {
    const { x, y, width: w, height: h } = f.box;
    const lines = f.label.split('\n');
    const tagH = lines.length * font * 1.2 + font * 0.4;
    const tagW = Math.max(...lines.map((l) => l.length)) * font * 0.6 + font * 0.6;
    // The tag sits above the box, or inside it when the box touches the top edge.
    const tagY = y - tagH >= 0 ? y - tagH : y;
    const text = lines
      .map(
        (l, i) =>
          `<text x="${x + font * 0.3}" y="${tagY + font * (1.1 + 1.2 * i)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="#000">${escape(l)}</text>`,
      )
      .join('');
    return (
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#00e676" stroke-width="${stroke}"/>` +
      `<rect x="${x}" y="${tagY}" width="${tagW}" height="${tagH}" fill="#00e676" fill-opacity="0.85"/>${text}`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Writes `image` (upright, as decoded for detection) with the faces drawn on it as a PNG, atomically. */
export async function writeAnnotated(image: Buffer, out: string, faces: Annotation[]): Promise<void> {
  const base = sharp(image, { failOn: 'error' }).rotate();
  const { width, height } = await base
    .clone()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then((r) => r.info);
  const tmp = join(dirname(out), `.${Date.now()}-${process.pid}.annotate.part.png`);
  await base
    .composite([{ input: Buffer.from(overlaySvg(width, height, faces)), left: 0, top: 0 }])
    .png()
    .toFile(tmp);
  await rename(tmp, out);
}
