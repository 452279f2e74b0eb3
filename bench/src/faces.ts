/**
 * Face detection for `fersweep predict` on photos (issue 16). Measures, on the backend predict uses
 * (wasm): the SSD MobileNetV1 and Tiny detectors on skimage's astronaut.png (512×512, one face) and
 * on a 1024×320 group photo of three, median of REPEATS after a warm-up; and the rest of a face's
 * path (square crop + Lanczos to 48×48 + luma) as the baseline the detector is compared with.
 * Run: npm run bench -- faces      (writes bench/results/faces.json; RESULTS.md quotes it)
 */
import sharp, { type Sharp } from 'sharp';
import { cropToFerPixels, squareAround } from '@fersweep/dataset';
import { initTf, loadFaceDetector, type RgbImage } from '@fersweep/models';
import { median, report, type BenchResult } from './report.js';

const ASTRONAUT = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);

async function rgb(img: Sharp): Promise<RgbImage> {
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: kernels compiled, weights uploaded
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const runtime = await initTf({ prefer: 'wasm' });
const photo = await rgb(sharp(ASTRONAUT));
const tile = await sharp(ASTRONAUT).resize(320, 320).png().toBuffer();
const group = await rgb(
  sharp({ create: { width: 1024, height: 320, channels: 3, background: '#7f7f7f' } }).composite(
    [0, 352, 704].map((left) => ({ input: tile, left, top: 0 })),
  ),
);
const results: BenchResult[] = [];
const [face] = await (async () => {
  const d = await loadFaceDetector();
  const f = await d.detect(photo);
  d.dispose();
  return f;
})();
const crop = squareAround(face!.box, photo);
const cropMs = await timeMs(() => cropToFerPixels({ ...photo, channels: 3 }, crop));
results.push({ name: 'crop + 48×48 + luma, one face', value: cropMs, unit: 'ms' });
for (const kind of ['ssd', 'tiny'] as const) {
  const d = await loadFaceDetector({ kind });
  for (const [label, img, faces] of [
    ['astronaut 512×512', photo, 1],
    ['group 1024×320', group, 3],
  ] as const) {
    const found = (await d.detect(img)).length;
    const ms = await timeMs(() => d.detect(img));
    results.push({
      name: `${kind} detect, ${label}`,
      value: ms,
      unit: 'ms',
      note: `${found} of ${faces} faces found`,
    });
  }
  d.dispose();
}
await report('faces', results, { backend: runtime.device, repeats: REPEATS });
