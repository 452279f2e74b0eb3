import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { disposeModel } from '../variants/common.js';
import { buildModel, type VariantName } from '../variants/registry.js';
import { FER_INPUT, syntheticFaces } from '../variants/test-support.js';

/** Debian's python3 (with python3-onnx and python3-h5py), not a pyenv one on PATH. */
export const PYTHON = '/usr/bin/python3';

/**
 * A model built with seeded random weights and trained for eight steps with a fast-moving BatchNorm momentum, so
 * that its moving statistics are far from the initial 0 / 1 (an exporter that mixed them up would show).
 */
export async function slightlyTrained(model: VariantName, params: Record<string, unknown>): Promise<tf.LayersModel> {
  const { model: m } = await buildModel(model, { learningRate: 5e-3, ...params, batchNormMomentum: 0.5 }, FER_INPUT, {
    seed: 3,
  });
  const { xs, ys } = syntheticFaces(64, 11);
  try {
    await m.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    return m;
  } catch (err) {
    disposeModel(m);
    throw err;
  } finally {
    tf.dispose([xs, ys]);
  }
}

/** Runs a Python snippet with Debian's python3; returns stdout, throws with stderr on failure. */
export function python(code: string, ...args: string[]): string {
  const run = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`python failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

/** Largest |a − b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** Row-wise argmax of `[rows, cols]` probabilities. */
export function argmaxRows(p: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < p.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if ((p[r * cols + c] as number) > (p[r * cols + best] as number)) best = c;
    out.push(best);
  }
  return out;
}

/**
 * Runs an ONNX model in onnxruntime-node in a child process (jest's sandbox gives typed arrays another realm than
 * the native binding's, which onnxruntime-common's type checks reject): `input` `[shape]` into `inputName`, the
 * `outputName` tensor back.
 */
export async function runOnnx(
  file: string,
  inputName: string,
  input: Float32Array,
  shape: number[],
  outputName: string,
): Promise<Float32Array> {
  const inFile = `${file}.input.bin`;
  const outFile = `${file}.output.bin`;
  await writeFile(inFile, input);
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs';
    import * as ort from 'onnxruntime-node';
    const [file, inFile, outFile, inputName, outputName, shape] = process.argv.slice(1);
    const bytes = readFileSync(inFile);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ [inputName]: new ort.Tensor('float32', data, JSON.parse(shape)) });
    writeFileSync(outFile, out[outputName].data);
  `;
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', script, file, inFile, outFile, inputName, outputName, JSON.stringify(shape)],
    { encoding: 'utf8', timeout: 120_000, cwd: path.dirname(fileURLToPath(import.meta.url)) },
  );
  if (run.status !== 0) throw new Error(`onnxruntime failed (${run.status}): ${run.stderr}`);
  const bytes = await readFile(outFile);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
