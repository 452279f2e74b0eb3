/**
 * Model and trainer benchmark (issue 3). For each variant configuration and each backend available:
 * training and inference images/s, achieved GFLOP/s (training counted as 3× the forward FLOPs), peak
 * RSS — against the PyTorch peer (Debian python3-torch, CPU, one thread, batch 64) in the same run.
 * Then the whole trainer's epoch time against a bare `model.fit` on in-memory tensors.
 * Run: npm run bench -- models        (BENCH_STEPS=3 and BENCH_MIN_SECONDS=2: at least 3 timed batches and 2 s
 *                                      per measurement)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { TrialSpec } from '@fersweep/contracts';
import { DatasetReader, epochBatches, importDataset, syntheticSource } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { buildModel, disposeModel, initTf, labelTensor } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { runTrial } from '@fersweep/trainer';
import { report, median, type BenchResult } from './report.js';

const exec = promisify(execFile);
const STEPS = Number(process.env.BENCH_STEPS ?? 3);
/** Each measurement also runs for at least this long (PyTorch peer too): 3 batches of a small model take ~0.1 s. */
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS ?? 2);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm').split(',');
const PYTHON = '/usr/bin/python3';

const CONFIGS: { label: string; model: string; params: Record<string, unknown>; batch: number }[] = [
  { label: 'cnn width 1.0', model: 'cnn', params: { width: 1 }, batch: 64 },
  { label: 'cnn width 0.25', model: 'cnn', params: { width: 0.25 }, batch: 64 },
  { label: 'mobilenetv2 α1.0 @48', model: 'mobilenetv2', params: { alpha: 1 }, batch: 64 },
  { label: 'mobilenetv2 α0.35 @48', model: 'mobilenetv2', params: { alpha: 0.35 }, batch: 64 },
  { label: 'mobilenetv2 α1.0 @96', model: 'mobilenetv2', params: { alpha: 1, inputSize: 96 }, batch: 32 },
  { label: 'mobilenetv2 α0.35 @96', model: 'mobilenetv2', params: { alpha: 0.35, inputSize: 96 }, batch: 64 },
];

interface Once {
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  forwardFlops: number;
  params: number;
  maxRssMiB: number;
}

async function tfjsOnce(cfg: (typeof CONFIGS)[number], backend: string): Promise<Once> {
  const script = fileURLToPath(new URL('./model-once.js', import.meta.url));
  const arg = JSON.stringify({ ...cfg, steps: STEPS, minSeconds: MIN_SECONDS, backend });
  const out = await exec(process.execPath, [script, arg], { maxBuffer: 1 << 20, timeout: 900_000 });
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as Once;
}

async function torchOnce(
  cfg: (typeof CONFIGS)[number],
): Promise<{ train_img_s: number; infer_img_s: number } | undefined> {
  if (!existsSync(PYTHON)) return undefined;
  const script = fileURLToPath(new URL('../peer/torch_peer.py', import.meta.url));
  try {
    const out = await exec(PYTHON, [script, JSON.stringify({ ...cfg, steps: STEPS, minSeconds: MIN_SECONDS })], {
      timeout: 900_000,
    });
    return JSON.parse(out.stdout.trim().split('\n').pop()!) as { train_img_s: number; infer_img_s: number };
  } catch {
    return undefined; // python3-torch not installed: the table says so
  }
}

/** The trainer's epoch vs a bare model.fit over the same in-memory images, same model and batch size. */
async function trainerOverhead(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-trainer-'));
  try {
    const runtime = await initTf({ prefer: 'wasm' });
    const data = openStore(`file://${dir}/data`);
    await importDataset({
      source: syntheticSource({ count: 1400, seed: 3 }),
      store: data,
      name: 'd',
      seed: 1,
      explore: false,
    });
    const params = { width: 0.25, blocks: 3 };
    const spec = (trial: string) =>
      TrialSpec.parse({
        sweep: 'bench',
        trial,
        variant: 'cnn',
        model: 'cnn',
        params,
        dataset: data.url,
        output: `file://${dir}/out`,
        epochs: 2,
        batchSize: 64,
        augmentation: {
          rotationRange: 10,
          widthShiftRange: 0.1,
          heightShiftRange: 0.1,
          zoomRange: 0.1,
          horizontalFlip: true,
        },
        evaluate: [],
      });
    const logger = createLogger({ service: 'bench', silent: true });
    const trainerEpochs: number[] = [];
    const fitEpochs: number[] = [];
    for (let r = 0; r < 2; r++) {
      const bus = createMemoryBus();
      const res = await runTrial({ spec: spec(`t${r}`), openStore, bus, logger, runtime, threads: 1 });
      await bus.close();
      trainerEpochs.push(...res.history.map((h) => h.seconds));

      // Bare baseline: the same train split already as tensors, same model, model.fit with validation.
      const reader = await DatasetReader.open(data);
      const train = await reader.loadSplit('train');
      const val = await reader.loadSplit('val');
      const toTensors = (s: typeof train) => {
        const [b] = [...epochBatches({ data: s, batchSize: s.count, seed: 0, epoch: 0, shuffle: false })];
        return { x: tf.tensor4d(b!.xs, [s.count, 48, 48, 1]), y: labelTensor(s.labels, 7) };
      };
      const t = toTensors(train);
      const v = toTensors(val);
      const { model } = await buildModel(
        'cnn',
        params,
        { height: 48, width: 48, channels: 1, numClasses: 7 },
        { seed: 42 },
      );
      const times: number[] = [];
      let start = performance.now();
      await model.fit(t.x, t.y, {
        epochs: 2,
        batchSize: 64,
        shuffle: true,
        validationData: [v.x, v.y],
        verbose: 0,
        callbacks: {
          onEpochEnd: async () => void (times.push((performance.now() - start) / 1000), (start = performance.now())),
        },
      });
      fitEpochs.push(...times);
      disposeModel(model);
      tf.dispose([t.x, t.y, v.x, v.y]);
    }
    const trainer = median(trainerEpochs);
    const fit = median(fitEpochs);
    return [
      { name: 'bare model.fit epoch, in-memory tensors (baseline)', value: fit, unit: 's' },
      {
        name: 'trainer epoch (shards, augmentation, events, checkpoint)',
        value: trainer,
        unit: 's',
        vsBaseline: trainer / fit,
        goal: '≤ 1.05 of model.fit (overhead ≤ 5%)',
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const only = process.env.BENCH_ONLY;
  const configs = process.env.BENCH_SKIP_MODELS ? [] : CONFIGS.filter((c) => !only || c.label.includes(only));
  for (const cfg of configs) {
    const peer = await torchOnce(cfg);
    if (peer) {
      results.push(
        { name: `${cfg.label}: PyTorch CPU 1 thread train (peer)`, value: peer.train_img_s, unit: 'img/s' },
        { name: `${cfg.label}: PyTorch CPU 1 thread infer (peer)`, value: peer.infer_img_s, unit: 'img/s' },
      );
    }
    for (const backend of BACKENDS) {
      const m = await tfjsOnce(cfg, backend);
      const gflops = (ips: number, factor: number) => (ips * m.forwardFlops * factor) / 1e9;
      results.push(
        {
          name: `${cfg.label}: tfjs ${backend} train`,
          value: m.trainImagesPerSecond,
          unit: 'img/s',
          ...(peer ? { vsBaseline: m.trainImagesPerSecond / peer.train_img_s, goal: '≥ 0.40 of PyTorch' } : {}),
          note: `${gflops(m.trainImagesPerSecond, 3).toFixed(1)} GFLOP/s = ${((gflops(m.trainImagesPerSecond, 3) / gflops(m.inferImagesPerSecond, 1)) * 100).toFixed(0)}% of inference GFLOP/s; ${(m.forwardFlops / 1e6).toFixed(1)} MFLOP/img; ${(m.params / 1e6).toFixed(2)} M params; peak RSS ${m.maxRssMiB.toFixed(0)} MiB`,
        },
        {
          name: `${cfg.label}: tfjs ${backend} infer`,
          value: m.inferImagesPerSecond,
          unit: 'img/s',
          ...(peer ? { vsBaseline: m.inferImagesPerSecond / peer.infer_img_s } : {}),
          note: `${gflops(m.inferImagesPerSecond, 1).toFixed(1)} GFLOP/s`,
        },
      );
    }
  }
  if (!only) results.push(...(await trainerOverhead()));
  await report('models', results, {
    steps: STEPS,
    minSeconds: MIN_SECONDS,
    backends: BACKENDS,
    peer: `${PYTHON} torch (1 thread)`,
  });
}

await main();
