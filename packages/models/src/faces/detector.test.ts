import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { access } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import sharp, { type Sharp } from 'sharp';
import { initTf } from '@fersweep/tfjs-train-wasm';
import { loadFaceDetector, type FaceDetector, type RgbImage } from './detector.js';

/** A real photograph (Eileen Collins, public domain) that Debian's python3-skimage ships; scripts/test.sh installs it. */
const ASTRONAUT = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';

async function rgb(input: string | Sharp): Promise<RgbImage> {
  const { data, info } = await (typeof input === 'string' ? sharp(input) : input)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

let detector: FaceDetector;
let tensorsBefore: number;

beforeAll(async () => {
  await access(ASTRONAUT).catch(() => {
    throw new Error(`${ASTRONAUT} is missing: apt-get install python3-skimage (scripts/test.sh does)`);
  });
  await initTf({ prefer: 'wasm' });
  tensorsBefore = tf.memory().numTensors;
  detector = await loadFaceDetector();
}, 60_000);
afterAll(() => detector?.dispose());

describe('face detection with the weights shipped in @vladmandic/face-api, offline', () => {
  it("finds the astronaut's face in the photograph, where it is", async () => {
    const faces = await detector.detect(await rgb(ASTRONAUT));
    expect(faces).toHaveLength(1);
    const [f] = faces;
    expect(f!.score).toBeGreaterThan(0.9);
    // Her face is around x 180–265, y 70–175 of the 512×512 photo.
    expect(f!.box.x).toBeGreaterThan(150);
    expect(f!.box.x + f!.box.width).toBeLessThan(300);
    expect(f!.box.y).toBeGreaterThan(40);
    expect(f!.box.y + f!.box.height).toBeLessThan(200);
  });

  it('finds every face of a composed photo, and none in a blank one', async () => {
    const tile = await sharp(ASTRONAUT).resize(256, 256).png().toBuffer();
    const group = sharp({ create: { width: 768, height: 256, channels: 3, background: '#808080' } }).composite([
      { input: tile, left: 0, top: 0 },
      { input: tile, left: 512, top: 0 },
    ]);
    const faces = await detector.detect(await rgb(group));
    expect(faces.map((f) => Math.round(f.box.x / 256))).toEqual(expect.arrayContaining([0, 2]));
    expect(faces).toHaveLength(2);
    const blank = sharp({ create: { width: 320, height: 240, channels: 3, background: '#3a6ea5' } });
    expect(await detector.detect(await rgb(blank))).toEqual([]);
  });

  it('leaves no tensor behind: detecting adds none, disposing frees the weights', async () => {
    const image = await rgb(ASTRONAUT);
    const loaded = tf.memory().numTensors;
    await detector.detect(image);
    await detector.detect(image);
    expect(tf.memory().numTensors).toBe(loaded);
    const other = await loadFaceDetector({ kind: 'tiny' });
    expect((await other.detect(image)).length).toBe(1);
    other.dispose();
    expect(tf.memory().numTensors).toBe(loaded);
    detector.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    detector = await loadFaceDetector();
  });

  it('refuses an image whose bytes do not match its size', async () => {
    await expect(detector.detect({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(
      /expected 4×4×3 bytes/,
    );
  });
});
