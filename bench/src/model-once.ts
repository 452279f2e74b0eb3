/**
 * One model configuration measured in a fresh process (so peak RSS is its own):
 *   node bench/dist/model-once.js '{"model":"cnn","params":{"width":1},"batch":64,"steps":3,"backend":"wasm"}'
 * Prints one JSON line: train/infer img/s, forward FLOPs per image, parameters, peak RSS.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, countFlops, disposeModel, initTf, labelTensor } from '@fersweep/models';

interface Config {
  model: string;
  params: Record<string, unknown>;
  batch: number;
  steps: number;
  backend: string;
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
await model.trainOnBatch(xs, ys); // warm-up: kernel setup, first allocations
let t = performance.now();
for (let i = 0; i < cfg.steps; i++) await model.trainOnBatch(xs, ys);
const train = (cfg.batch * cfg.steps) / ((performance.now() - t) / 1000);
tf.tidy(() => model.predict(xs));
t = performance.now();
for (let i = 0; i < cfg.steps; i++) tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync());
const infer = (cfg.batch * cfg.steps) / ((performance.now() - t) / 1000);
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
