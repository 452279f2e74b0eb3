/**
 * One model configuration measured in a fresh process (so peak RSS is its own):
 *   node bench/dist/model-once.js '{"model":"cnn","params":{"width":1},"batch":64,"steps":3,"backend":"wasm"}'
 * Prints one JSON line: train/infer img/s, forward FLOPs per image, parameters, peak RSS. Training steps run as the
 * trainer runs them: through CapturedTraining (`"capture": false` or FERSWEEP_CAPTURE_STEP=0: plain trainOnBatch).
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, CapturedTraining, countFlops, disposeModel, initTf, labelTensor } from '@fersweep/models';

interface Config {
  model: string;
  params: Record<string, unknown>;
  batch: number;
  /** At least this many timed batches… */
  steps: number;
  /** …and at least this many seconds of them (short batches are noisy on a shared machine). */
  minSeconds?: number;
  backend: string;
  /** Train through CapturedTraining, as the trainer does (default true). */
  capture?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const runtime = await initTf({ prefer: cfg.backend });
const { model } = await buildModel(
  cfg.model,
  cfg.params,
  { height: 48, width: 48, channels: 1, numClasses: 7 },
  { seed: 1 },
);
const flops = countFlops(model);
const xs = tf.randomUniform([cfg.batch, 48, 48, 1]);
const ys = labelTensor(
  Array.from({ length: cfg.batch }, (_, i) => i % 7),
  7,
);
/** Images per second over at least `cfg.steps` batches and `cfg.minSeconds` seconds. */
async function imagesPerSecond(step: () => Promise<unknown>): Promise<number> {
  const minMs = (cfg.minSeconds ?? 0) * 1000;
  const t = performance.now();
  let n = 0;
  while (n < cfg.steps || performance.now() - t < minMs) {
    await step();
    n++;
  }
  return (cfg.batch * n) / ((performance.now() - t) / 1000);
}

// Undefined `enabled` leaves the choice to FERSWEEP_CAPTURE_STEP, as in the trainer.
const capture = new CapturedTraining(model, cfg.capture === false ? { enabled: false } : {});
// Warm-up: kernel setup, first allocations, and the two steps a captured shape is recorded in.
for (let i = 0; i < 3; i++) await capture.trainOnBatch(xs, ys);
const train = await imagesPerSecond(() => capture.trainOnBatch(xs, ys));
tf.tidy(() => model.predict(xs));
const infer = await imagesPerSecond(async () => tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync()));
const params = model.countParams();
xs.dispose();
ys.dispose();
disposeModel(model);
console.log(
  JSON.stringify({
    backend: runtime.backend,
    trainImagesPerSecond: train,
    inferImagesPerSecond: infer,
    forwardFlops: flops,
    params,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
