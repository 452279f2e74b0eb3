import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { modelFolderFiles } from '../io/store.js';
import { exportKerasH5 } from './keras-h5.js';
import { exportOnnx } from './onnx.js';
import { portableModel } from './graph.js';

/** The formats {@link exportModel} writes. */
export const EXPORT_FORMATS = ['onnx', 'keras', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The file each format's model goes to inside the output folder (tfjs also writes weights.bin). */
export const EXPORT_FILES: Record<ExportFormat, string> = { onnx: 'model.onnx', keras: 'model.h5', tfjs: 'model.json' };

/** The parts of a fersweep model's metadata.json an export records (all optional: any tfjs model exports). */
export interface ExportMetadata {
  sweep?: string;
  trial?: string;
  model?: string;
  labels?: string[];
  input?: { height: number; width: number; channels: number };
  preprocessing?: Record<string, unknown>;
  metrics?: unknown;
  [key: string]: unknown;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  format: ExportFormat;
  /** Paths written, the model file first. */
  files: string[];
}

/** One line on the input a fersweep model expects, for people reading the exported file. */
export function describePreprocessing(meta: ExportMetadata): string {
  const { height = 48, width = 48, channels = 1 } = meta.input ?? {};
  const p = meta.preprocessing ?? {};
  const rescale = typeof p['rescale'] === 'number' ? p['rescale'] : 1 / 255;
  return (
    `input "image": float32 NHWC [batch, ${height}, ${width}, ${channels}]` +
    `${channels === 1 ? `, grayscale (${String(p['grayscale'] ?? 'ITU-R BT.601 luma')})` : ''}` +
    `, resized to ${width}×${height} (${String(p['resize'] ?? 'centre crop, Lanczos')})` +
    `, pixel values × ${rescale} (0–255 → 0–1); the model does any further scaling itself. ` +
    `Output "probabilities": softmax over ${meta.labels ? meta.labels.join(', ') : 'the classes'}.`
  );
}

/** metadata_props of an ONNX export: the preprocessing in words and as JSON, labels, where it came from. */
function onnxMetadata(meta: ExportMetadata): Record<string, string> {
  const props: Record<string, string> = { preprocessing: describePreprocessing(meta) };
  const json = (key: string, value: unknown) => {
    if (value !== undefined) props[`fersweep.${key}`] = JSON.stringify(value);
  };
  json('preprocessing', meta.preprocessing);
  json('input', meta.input);
  json('labels', meta.labels);
  json('sweep', meta.sweep);
  json('trial', meta.trial);
  json('model', meta.model);
  json('metrics', meta.metrics);
  return props;
}

async function writeAtomically(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.part`);
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

/**
 * Writes `model` to the local folder `dir` (created) in `format`, with a `metadata.json` (the model's metadata
 * plus an `export` record) beside it:
 * - `onnx`: `model.onnx` ({@link exportOnnx}; the preprocessing in metadata_props);
 * - `keras`: `model.h5` ({@link exportKerasH5});
 * - `tfjs`: `model.json` + `weights.bin` in the portable form a plain `tf.loadLayersModel` reads.
 */
export async function exportModel(
  model: tf.LayersModel,
  format: ExportFormat,
  dir: string,
  meta: ExportMetadata = {},
  producerVersion = '',
): Promise<ExportResult> {
  if (meta.input === undefined) {
    // No fersweep metadata (e.g. a tensorflowjs_converter folder): the model's own input shape at least.
    const [, height, width, channels] = model.inputs[0]?.shape ?? [];
    if (typeof height === 'number' && typeof width === 'number' && typeof channels === 'number') {
      meta = { ...meta, input: { height, width, channels } };
    }
  }
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, EXPORT_FILES[format]);
  const files = [file];
  if (format === 'onnx') {
    const bytes = exportOnnx(model, {
      metadata: onnxMetadata(meta),
      docString: `fersweep ${meta.model ?? 'model'}${meta.trial ? ` (trial ${meta.trial})` : ''}. ${describePreprocessing(meta)}`,
      producerVersion,
    });
    await writeAtomically(file, bytes);
  } else if (format === 'keras') {
    await exportKerasH5(model, file);
  } else {
    const portable = portableModel(model);
    try {
      // weights.bin before model.json, so a reader that finds model.json finds its weights.
      const [weights, json] = await modelFolderFiles(portable);
      await writeAtomically(path.join(dir, weights!.key), weights!.bytes);
      await writeAtomically(file, json!.bytes);
      files.push(path.join(dir, weights!.key));
    } finally {
      if (portable !== model) portable.dispose();
    }
  }
  const checksums = [];
  for (const f of files) {
    const bytes = await readFile(f);
    checksums.push({
      key: path.basename(f),
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  const exported = {
    ...meta,
    files: checksums,
    export: { format, file: EXPORT_FILES[format], preprocessing: describePreprocessing(meta), producerVersion },
  };
  const metaFile = path.join(dir, 'metadata.json');
  await writeAtomically(metaFile, `${JSON.stringify(exported, null, 2)}\n`);
  files.push(metaFile);
  return { format, files };
}
