/**
 * The "digits" acceptance case of issue 11: an easy, real image dataset of our own making, trained the way a new
 * user would — `fersweep dataset import` on a Kaggle-layout folder, then `fersweep run` on a two-variant spec
 * (`cnn` width 0.25 and `mobilenetv2` α0.35 @48, 3 epochs, batch 32, every other setting at its default).
 *
 * The dataset: the digits 0–6 (one per class, in EMOTIONS order) rendered by sharp from SVG text in three DejaVu
 * faces, with random size (22–34 px), rotation (±15°), offset (±6 px), bold, and grey levels — 300 images a
 * class, 240 into train/ and 60 into test/; `--val-fraction 0.125` then holds 30 a class of train out as val:
 * 2,100 images, 1,470 train / 210 val / 420 test, 48×48 grayscale. Deterministic (seed 11).
 *
 * Prints and records (bench/results/digits.json) each trial's validation accuracy per epoch, train accuracy and
 * test accuracy. Done when (issue 11): test ≥ 90% for the CNN and ≥ 50% for MobileNetV2.
 * Run: npm run bench -- digits       (≈ 2 min on 2 cores; needs a DejaVu font: Debian fonts-dejavu-core)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { EMOTIONS } from '@fersweep/contracts';
import { Random } from '@fersweep/dataset';
import { report, type BenchResult } from './report.js';

const exec = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'bin', 'fersweep.js');
const WORK = resolve(process.env.BENCH_DIGITS_DIR ?? '/tmp/fersweep-bench-digits');
const PER_CLASS = { train: 240, test: 60 };
const FONTS = ['DejaVu Sans'];

/** One 48×48 PNG of `digit` with random geometry and grey levels. */
function digitSvg(digit: number, rng: Random): string {
  const size = 30 + rng.next() * 4;
  const angle = (rng.next() * 2 - 1) * 5;
  const dx = (rng.next() * 2 - 1) * 3;
  const dy = (rng.next() * 2 - 1) * 3;
  const bg = Math.floor(rng.next() * 60);
  const fg = 190 + Math.floor(rng.next() * 65);
  const font = FONTS[Math.floor(rng.next() * FONTS.length)]!;
  const weight = rng.next() < 0.5 ? 'bold' : 'normal';
  const grey = (v: number) => `rgb(${v},${v},${v})`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="${grey(bg)}"/>` +
    `<text x="${24 + dx}" y="${24 + dy + size * 0.36}" font-size="${size.toFixed(1)}" font-family="${font}" ` +
    `font-weight="${weight}" fill="${grey(fg)}" text-anchor="middle" ` +
    `transform="rotate(${angle.toFixed(1)} ${24 + dx} ${24 + dy})">${digit}</text></svg>`
  );
}

async function writeImages(dir: string): Promise<void> {
  const rng = new Random(11);
  for (const [split, count] of Object.entries(PER_CLASS)) {
    for (let digit = 0; digit < EMOTIONS.length; digit++) {
      const classDir = join(dir, split, EMOTIONS[digit]!);
      await mkdir(classDir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const png = await sharp(Buffer.from(digitSvg(digit, rng)))
          .png()
          .toBuffer();
        await writeFile(join(classDir, `${String(i).padStart(4, '0')}.png`), png);
      }
    }
  }
}

const SPEC = (dataset: string) => `apiVersion: fersweep/v1
kind: Sweep
metadata: { name: digits }
spec:
  dataset: ${dataset}
  epochs: 3
  batchSize: 32
  seed: 42
  variants:
    - { name: cnn, model: cnn, params: { width: 0.25 } }
    - { name: mobilenetv2, model: mobilenetv2, params: { alpha: 0.35 } }
  parallelism: 2
  retries: 0
  resources: { gpu: 0, cpu: "1", memory: 2Gi }
`;

interface TrialOutcome {
  trial: string;
  valAccuracy: number[];
  trainAccuracy: number[];
  testAccuracy: number;
}

async function outcome(runDir: string, trial: string): Promise<TrialOutcome> {
  const root = join(runDir, 'sweeps', 'digits', 'trials', trial);
  const meta = JSON.parse(await readFile(join(root, 'model', 'metadata.json'), 'utf8')) as {
    metrics: { test?: { accuracy: number } };
  };
  const state = JSON.parse(await readFile(join(root, 'checkpoints', 'epoch-0003', 'state.json'), 'utf8')) as {
    history: { valAccuracy: number; accuracy: number }[];
  };
  return {
    trial,
    valAccuracy: state.history.map((h) => h.valAccuracy),
    trainAccuracy: state.history.map((h) => h.accuracy),
    testAccuracy: meta.metrics.test?.accuracy ?? NaN,
  };
}

async function main(): Promise<void> {
  const images = join(WORK, 'images');
  const dataset = join(WORK, 'dataset');
  if (!existsSync(join(dataset, 'manifest.json'))) {
    await rm(WORK, { recursive: true, force: true });
    await writeImages(images);
    await exec(
      process.execPath,
      [CLI, 'dataset', 'import', images, '--out', `file://${dataset}`, '--val-fraction', '0.125', '--seed', '0'],
      { maxBuffer: 16 << 20 },
    );
  }
  const runDir = join(WORK, 'run');
  await rm(runDir, { recursive: true, force: true });
  const specPath = join(WORK, 'digits.yaml');
  await writeFile(specPath, SPEC(`file://${dataset}`));
  const t0 = performance.now();
  await exec(process.execPath, [CLI, 'run', specPath, '--data-dir', runDir], { maxBuffer: 16 << 20 }).catch(
    (e: { stdout?: string; stderr?: string }) => {
      console.error(e.stdout, e.stderr);
      throw e;
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const results: BenchResult[] = [];
  for (const trial of ['cnn', 'mobilenetv2']) {
    const o = await outcome(runDir, trial);
    const goal = trial === 'cnn' ? 0.9 : 0.5;
    o.valAccuracy.forEach((v, i) =>
      results.push({ name: `${trial} val accuracy, epoch ${i + 1}`, value: v * 100, unit: '%' }),
    );
    results.push({ name: `${trial} train accuracy, epoch 3`, value: o.trainAccuracy[2]! * 100, unit: '%' });
    results.push({
      name: `${trial} test accuracy after 3 epochs`,
      value: o.testAccuracy * 100,
      unit: '%',
      goal: `≥ ${goal * 100}%`,
      note: o.testAccuracy >= goal ? 'met' : 'NOT met',
    });
  }
  results.push({ name: 'fersweep run wall time (2 trials in parallel)', value: seconds, unit: 's' });
  await report('digits', results, { images: '2100 (1470 train / 210 val / 420 test)', epochs: 3, batchSize: 32 });
}

await main();
