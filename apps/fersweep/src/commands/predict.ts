import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EMOTIONS } from '@fersweep/contracts';
import type { RawImage } from '@fersweep/dataset';
import type { FaceDetector } from '@fersweep/models';
import type { LayersModel, Tensor as TfTensor } from '@tensorflow/tfjs';
import { writeAnnotated } from '../annotate.js';
import { cannotRead, UsageError } from '../errors.js';
import { table } from '../format.js';
import { emit, outputFormat, withOutput, type OutputFlags } from '../output.js';
import type { Io } from './dataset.js';
import { openModel, readMetadata, type ModelMetadata } from './models.js';

/** One model's verdict on one face. */
export interface ModelPrediction {
  model: string;
  top: string;
  probabilities: Record<string, number>;
}

/** A face found in an image (or the whole image, with --no-detect), and every model's verdict on it. */
export interface FacePrediction {
  /** The detector's box in image pixels (the whole image when not detected). */
  box: { x: number; y: number; width: number; height: number };
  /** The detector's confidence, null when the image was taken as a face crop. */
  score: number | null;
  /** The square actually classified: the box plus a margin, inside the image. */
  crop: { left: number; top: number; width: number; height: number };
  models: ModelPrediction[];
}

export interface ImagePrediction {
  image: string;
  width: number;
  height: number;
  /** The detector used, or null when the image was classified whole. */
  detector: string | null;
  faces: FacePrediction[];
  /** Where --annotate wrote the picture with the boxes. */
  annotated?: string;
}

interface PredictFlags extends OutputFlags {
  model: string[];
  detect: boolean;
  detector: 'ssd' | 'tiny';
  minScore: number;
  margin: number;
  annotate?: string;
}

/** Photos are detected on at most this many pixels a side (faces are still cut from the full image). */
const DETECT_MAX_SIDE = 1024;

const unitArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number in [0, 1], got '${v}'`);
  return n;
};

interface Loaded {
  name: string;
  meta: ModelMetadata;
  model: LayersModel;
}

/** Decodes a file upright (EXIF), alpha flattened onto black, as RGB. */
async function decode(bytes: Buffer): Promise<RawImage> {
  const { default: sharp } = await import('sharp');
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .rotate()
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as RawImage['channels'] };
}

/** The image the detector sees: RGB, at most DETECT_MAX_SIDE a side; `scale` maps its boxes back. */
async function forDetection(image: RawImage): Promise<{ rgb: RawImage; scale: number }> {
  const { default: sharp } = await import('sharp');
  const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(image.width, image.height));
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .resize(Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: { data, width: info.width, height: info.height, channels: 3 }, scale };
}

/** Classifies a batch of 48×48 faces with one model: one row of probabilities per face. */
async function classify(m: Loaded, faces: Uint8Array[]): Promise<ModelPrediction[]> {
  const tf = await import('@tensorflow/tfjs');
  const { height, width } = m.meta.input;
  const labels = m.meta.labels ?? [...EMOTIONS];
  // The trainer's rescale (a model trained on 0–255 pixels must not see [0, 1] ones).
  const rescale = m.meta.preprocessing?.rescale ?? 1 / 255;
  const flat = new Float32Array(faces.length * height * width);
  faces.forEach((f, i) =>
    flat.set(
      Float32Array.from(f, (p) => p * rescale),
      i * height * width,
    ),
  );
  const probs = tf.tidy(() =>
    (m.model.predict(tf.tensor4d(flat, [faces.length, height, width, 1])) as TfTensor).arraySync(),
  ) as number[][];
  return probs.map((p) => {
    const top = p.indexOf(Math.max(...p));
    return { model: m.name, top: labels[top]!, probabilities: Object.fromEntries(labels.map((l, i) => [l, p[i]!])) };
  });
}

/** Where --annotate writes an image: OUT itself, or OUT/<name>.annotated.png (a/x.png and b/x.png get distinct names). */
function annotatePath(out: string, image: string, many: boolean, taken: Set<string>): string {
  if (!many) return out;
  const stem = basename(image, extname(image));
  let name = `${stem}.annotated.png`;
  for (let i = 2; taken.has(name); i++) name = `${stem}-${i}.annotated.png`;
  taken.add(name);
  return join(out, name);
}

/** People read: per image, one row per face and model. */
function predictionTable(results: ImagePrediction[], flags: PredictFlags): string {
  const blocks = results.map((r) => {
    const head = `${r.image} (${r.width}×${r.height})`;
    if (r.faces.length === 0)
      return `${head}: no face found (${flags.detector} detector, --min-score ${flags.minScore}); for an image that is already a face crop, pass --no-detect`;
    const labels = Object.keys(r.faces[0]!.models[0]!.probabilities);
    const rows = r.faces.flatMap((f, i) =>
      f.models.map((m) => [
        String(i + 1),
        `${Math.round(f.box.x)},${Math.round(f.box.y)} ${Math.round(f.box.width)}×${Math.round(f.box.height)}`,
        f.score === null ? '-' : f.score.toFixed(2),
        m.model,
        m.top,
        ...labels.map((l) => m.probabilities[l]!.toFixed(3)),
      ]),
    );
    const found = r.detector ? `${r.faces.length} face${r.faces.length === 1 ? '' : 's'} (${r.detector})` : 'face crop';
    return [
      `${head}: ${found}${r.annotated ? `, annotated: ${r.annotated}` : ''}`,
      table(rows, ['face', 'box', 'score', 'model', 'top', ...labels]),
    ].join('\n');
  });
  return blocks.join('\n\n');
}

/** `fersweep predict`: faces found in photos (or given as crops), classified by every model side by side. */
export function predictCommand(io: Io): Command {
  const cmd = new Command('predict')
    .description(
      'find every face in photos and predict its emotion with one or more trained models, side by side (48×48 face crops work too)',
    )
    .requiredOption(
      '--model <dir|url>',
      'a model folder (local or object-store URL); repeat to compare models',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .argument('<images...>', 'photos or face crops: PNG/JPEG/WebP… of any size or colour')
    .option(
      '--no-detect',
      'classify each image whole, as a face crop (automatic for 48×48 images, the size of FER2013 faces)',
    )
    .addOption(
      new Option('--detector <kind>', 'face detector: ssd (SSD MobileNetV1, accurate) or tiny (faster)')
        .choices(['ssd', 'tiny'])
        .default('ssd'),
    )
    .option('--min-score <p>', 'drop detections less confident than this', unitArg('--min-score'), 0.5)
    .option('--margin <f>', 'margin added around each face box, as a share of its side', unitArg('--margin'), 0.2)
    .option(
      '--annotate <out.png>',
      'write the image with boxes and labels; with several images, a folder for <name>.annotated.png',
    )
    .action(async (images: string[], flags: PredictFlags) => {
      const [{ cropToFerPixels, squareAround }, { initTf, loadModel, disposeModel, loadFaceDetector }] =
        await Promise.all([import('@fersweep/dataset'), import('@fersweep/models')]);
      await initTf({});
      const many = images.length > 1;
      const taken = new Set<string>();
      if (flags.annotate && many) await mkdir(flags.annotate, { recursive: true });
      else if (flags.annotate) {
        if ((await stat(flags.annotate).catch(() => undefined))?.isDirectory())
          throw new UsageError(`--annotate ${flags.annotate} is a folder: give the PNG file to write`);
        await mkdir(dirname(flags.annotate), { recursive: true });
      }
      const loaded: Loaded[] = [];
      let detector: FaceDetector | undefined;
      try {
        for (const location of flags.model) {
          const store = await openModel(location);
          let meta: ModelMetadata;
          try {
            meta = await readMetadata(store);
          } catch (err) {
            throw new UsageError(
              `${location} is not a fersweep model folder (no readable metadata.json): ${(err as Error).message}`,
            );
          }
          loaded.push({ name: meta.trial ?? basename(location), meta, model: await loadModel(store) });
        }
        const results: ImagePrediction[] = [];
        for (const image of images) {
          let bytes: Buffer;
          let raw: RawImage;
          try {
            bytes = await readFile(image);
            raw = await decode(bytes);
          } catch (err) {
            throw cannotRead(`image ${image}`, err);
          }
          const whole = !flags.detect || (raw.width === 48 && raw.height === 48);
          let found: { box: FacePrediction['box']; score: number | null }[];
          if (whole) found = [{ box: { x: 0, y: 0, width: raw.width, height: raw.height }, score: null }];
          else {
            detector ??= await loadFaceDetector({ kind: flags.detector, minScore: flags.minScore });
            const { rgb, scale } = await forDetection(raw);
            found = (await detector.detect(rgb)).map((d) => ({
              box: {
                x: d.box.x / scale,
                y: d.box.y / scale,
                width: d.box.width / scale,
                height: d.box.height / scale,
              },
              score: d.score,
            }));
            // Numbered in reading order: left to right, as a person counts faces in a group photo.
            found.sort((a, b) => a.box.x + a.box.width / 2 - (b.box.x + b.box.width / 2) || a.box.y - b.box.y);
          }
          const crops = found.map((f) =>
            whole ? { left: 0, top: 0, width: raw.width, height: raw.height } : squareAround(f.box, raw, flags.margin),
          );
          const pixels = await Promise.all(crops.map((c) => cropToFerPixels(raw, c)));
          const perModel = pixels.length ? await Promise.all(loaded.map((m) => classify(m, pixels))) : [];
          const faces = found.map((f, i) => ({ ...f, crop: crops[i]!, models: perModel.map((p) => p[i]!) }));
          const result: ImagePrediction = {
            image,
            width: raw.width,
            height: raw.height,
            detector: whole ? null : flags.detector,
            faces,
          };
          if (flags.annotate) {
            result.annotated = annotatePath(flags.annotate, image, many, taken);
            await writeAnnotated(
              bytes,
              result.annotated,
              faces.map((f, i) => ({
                box: f.box,
                label: [
                  `#${i + 1}`,
                  ...f.models.map((m) => `${m.model}: ${m.top} ${m.probabilities[m.top]!.toFixed(2)}`),
                ].join('\n'),
              })),
            );
          }
          if (faces.length === 0 && outputFormat(flags) !== 'table')
            io.err(`${image}: no face found; for a face crop, pass --no-detect\n`);
          results.push(result);
        }
        emit(io, flags, { items: results }, () => predictionTable(results, flags));
      } finally {
        detector?.dispose();
        for (const m of loaded) disposeModel(m.model);
      }
    });
  return withOutput(cmd);
}
