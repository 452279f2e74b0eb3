/**
 * One model trained with N data-parallel threads, in a fresh process (so peak RSS is its own):
 *   node bench/dist/scaling-once.js '{"model":"cnn","params":{"width":1},"batch":64,"threads":2,"steps":3}'
 * N = 1 is the trainer's single-thread step (trainOnBatch on the main thread, captured as the trainer does:
 * CapturedTraining; FERSWEEP_CAPTURE_STEP=0 turns it off here and in the replicas); N ≥ 2 is DataParallel, each
 * thread training batch/N images of every batch. Prints one JSON line: train img/s, CPU ms per image, peak RSS.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, CapturedTraining, disposeModel, initTf, labelTensor } from '@fersweep/models';
import { DataParallel } from '@fersweep/trainer';

interface Config {
  model: string;
  params: Record<string, unknown>;
  /** Images per step (all threads together). */
  batch: number;
  threads: number;
  steps: number;
  minSeconds?: number;
  /** Seconds of untimed steps first (V8 finishes tiering up the wasm kernels on background threads meanwhile). */
  warmupSeconds?: number;
  /** Date.now() before which warm-up continues: processes run side by side start timing together. */
  startAt?: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const input = { height: 48, width: 48, channels: 1, numClasses: 7 };
const runtime = await initTf({ prefer: 'wasm' });
const { model } = await buildModel(cfg.model, cfg.params, input, { seed: 1 });
const xs = Float32Array.from({ length: cfg.batch * 48 * 48 }, (_, i) => ((i * 7919) % 255) / 255);
const labels = Uint8Array.from({ length: cfg.batch }, (_, i) => i % 7);
const batch = { xs, labels, size: cfg.batch, index: 0 };

let step: () => Promise<unknown>;
let close = async () => undefined as unknown;
if (cfg.threads <= 1) {
  const x = tf.tensor4d(xs, [cfg.batch, 48, 48, 1]);
  const y = labelTensor(labels, 7);
  const capture = new CapturedTraining(model);
  step = () => capture.trainOnBatch(x, y);
  close = async () => {
    capture.dispose();
    tf.dispose([x, y]);
  };
} else {
  const dp = await DataParallel.start({ replicas: cfg.threads, backend: 'wasm', seed: 1, batchSize: cfg.batch, input });
  step = () => dp.trainBatch(model, batch, 0);
  close = () => dp.close();
}

// Warm-up: model transfer, kernel setup, first allocations, then steps until V8's background threads have
// finished optimising the wasm code (they would otherwise lend the one-thread run a second core while timed).
const warm = performance.now();
do await step();
while (performance.now() - warm < (cfg.warmupSeconds ?? 0) * 1000 || Date.now() < (cfg.startAt ?? 0));
const minMs = (cfg.minSeconds ?? 0) * 1000;
const t = performance.now();
const cpu0 = process.cpuUsage();
let n = 0;
while (n < cfg.steps || performance.now() - t < minMs) {
  await step();
  n++;
}
const train = (cfg.batch * n) / ((performance.now() - t) / 1000);
// CPU time of all threads per image: equal for N = 1 and N = 2 when parallelism costs no extra work, whatever
// else the machine runs (img/s on a shared machine is not).
const cpu = process.cpuUsage(cpu0);
const cpuMsPerImage = (cpu.user + cpu.system) / 1000 / (cfg.batch * n);
await close();
disposeModel(model);
console.log(
  JSON.stringify({
    backend: runtime.backend,
    threads: cfg.threads,
    trainImagesPerSecond: train,
    cpuMsPerImage,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
process.exit(0);
