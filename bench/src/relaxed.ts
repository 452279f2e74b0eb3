/**
 * Relaxed-SIMD vs SIMD128 kernels (issue 17, "More from each core"): training img/s of each model with the
 * generated kernels built for `f32x4.relaxed_madd` and for `f32x4.mul` + `f32x4.add`, in one process and one
 * run. The two modes alternate (ABBA…) per model so that load from other processes on a shared machine hits
 * both alike; the ratio is the median of the rounds' paired ratios (relaxed / SIMD128). Names the CPU: FMA pays most where multiplies and
 * adds share ports (Intel cores); AMD Zen runs them on separate pipes.
 * Kernel level too (BENCH_PART=kernels|models runs one part): speed-up = SIMD128 ms / relaxed ms per call.
 * Run: npm run bench -- relaxed      (BENCH_ROUNDS=4, BENCH_STEPS=1, BENCH_MIN_SECONDS=1.5,
 *                                    BENCH_MODELS=substring)
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { buildModel, disposeModel, initTf, labelTensor } from '@fersweep/models';
import { relaxedSimdSupported, setWasmSimdMode, wasmSimdMode, type WasmSimdMode } from '@fersweep/tfjs-train-wasm';
import { report, median, type BenchResult } from './report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const STEPS = Number(process.env.BENCH_STEPS ?? 1);
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS ?? 1.5);
const ONLY = process.env.BENCH_MODELS ?? '';

/** As the models benchmark (48 px grayscale input; `inputSize` resizes inside the model). */
const CONFIGS: { label: string; model: string; params: Record<string, unknown>; batch: number }[] = [
  { label: 'cnn width 1.0', model: 'cnn', params: { width: 1 }, batch: 64 },
  { label: 'cnn width 0.25', model: 'cnn', params: { width: 0.25 }, batch: 64 },
  { label: 'mobilenetv2 α1.0 @48', model: 'mobilenetv2', params: { alpha: 1 }, batch: 64 },
  { label: 'mobilenetv2 α0.35 @48', model: 'mobilenetv2', params: { alpha: 0.35 }, batch: 64 },
  { label: 'mobilenetv2 α1.0 @96', model: 'mobilenetv2', params: { alpha: 1, inputSize: 96 }, batch: 32 },
];

/** `lscpu`'s "Model name" (from /proc/cpuinfo), else what Node reports. */
function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]!.trim();
  } catch {
    // not Linux
  }
  return 'unknown';
}

await initTf({ prefer: 'wasm' });
if (!relaxedSimdSupported()) {
  console.log(`relaxed SIMD is not available in Node ${process.version}: nothing to compare`);
  process.exit(0);
}
const startMode = wasmSimdMode();
const cpu = cpuModel();
console.log(`CPU: ${cpu}; Node ${process.version}; default mode: ${startMode}`);

/** Images per second of `step` over at least STEPS batches and MIN_SECONDS seconds. */
async function imagesPerSecond(batch: number, step: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  let n = 0;
  while (n < STEPS || performance.now() - t < MIN_SECONDS * 1000) {
    await step();
    n++;
  }
  return (batch * n) / ((performance.now() - t) / 1000);
}

const results: BenchResult[] = [];

/**
 * Kernel level first: the supplied kernels whose generated code multiply-adds, on layer shapes of the real
 * models (batch KERNEL_BATCH), each call timed alone. Rounds alternate the modes (ABBA); a round's value is the
 * median of its calls, the ratio the median of the rounds' paired ratios.
 */
const KERNEL_BATCH = Number(process.env.BENCH_KERNEL_BATCH ?? 16);
const KERNEL_ROUNDS = Number(process.env.BENCH_KERNEL_ROUNDS ?? 6);
const KERNEL_MS = Number(process.env.BENCH_KERNEL_MS ?? 300);
const KERNELS: { label: string; kernel: string; hw: number; ci: number; co: number; k: number; s: number }[] = [
  {
    label: 'Conv2DBackpropFilter Winograd FER 48px 64→64',
    kernel: 'Conv2DBackpropFilter',
    hw: 48,
    ci: 64,
    co: 64,
    k: 3,
    s: 1,
  },
  {
    label: 'Conv2DBackpropFilter Winograd FER 12px 256→256',
    kernel: 'Conv2DBackpropFilter',
    hw: 12,
    ci: 256,
    co: 256,
    k: 3,
    s: 1,
  },
  {
    label: 'Conv2DBackpropFilter pointwise (TN GEMM) 24px 32→192',
    kernel: 'Conv2DBackpropFilter',
    hw: 24,
    ci: 32,
    co: 192,
    k: 1,
    s: 1,
  },
  {
    label: 'Conv2DBackpropFilter stem (C1 loop) 48px 1→64',
    kernel: 'Conv2DBackpropFilter',
    hw: 48,
    ci: 1,
    co: 64,
    k: 3,
    s: 1,
  },
  { label: 'Conv2D Winograd forward FER 24px 128→128', kernel: 'Conv2D', hw: 24, ci: 128, co: 128, k: 3, s: 1 },
  {
    label: 'Depthwise filter gradient (SIMD loop) 24px 96ch',
    kernel: 'DepthwiseConv2dNativeBackpropFilter',
    hw: 24,
    ci: 96,
    co: 96,
    k: 3,
    s: 1,
  },
  {
    label: 'Depthwise input gradient stride 2 24px 96ch',
    kernel: 'DepthwiseConv2dNativeBackpropInput',
    hw: 24,
    ci: 96,
    co: 96,
    k: 3,
    s: 2,
  },
];
for (const c of process.env.BENCH_PART === 'models' ? [] : KERNELS) {
  const n = KERNEL_BATCH;
  const oh = Math.ceil(c.hw / c.s);
  const depthwise = c.kernel.startsWith('Depthwise');
  const x = tf.randomUniform([n, c.hw, c.hw, c.ci]);
  const w = tf.randomUniform(depthwise ? [c.k, c.k, c.ci, 1] : [c.k, c.k, c.ci, c.co]);
  const dy = tf.randomUniform([n, oh, oh, c.co]);
  const filterShape = depthwise ? [c.k, c.k, c.ci, 1] : [c.k, c.k, c.ci, c.co];
  const attrs = { strides: c.s, pad: 'same', dataFormat: 'NHWC', dilations: 1, filterShape, inputShape: x.shape };
  const inputs: tf.NamedTensorMap =
    c.kernel === 'Conv2D' ? { x, filter: w } : c.kernel.endsWith('Filter') ? { x, dy } : { dy, filter: w };
  const call = (): void => {
    const t = performance.now();
    tf.dispose(tf.engine().runKernel(c.kernel, inputs, attrs) as tf.Tensor);
    times.push(performance.now() - t);
  };
  let times: number[] = [];
  const rounds: Record<WasmSimdMode, number[]> = { simd128: [], relaxed: [] };
  for (let r = 0; r < KERNEL_ROUNDS; r++) {
    const order: WasmSimdMode[] = r % 2 === 0 ? ['simd128', 'relaxed'] : ['relaxed', 'simd128'];
    for (const mode of order) {
      setWasmSimdMode(mode);
      call(); // warm-up (compiles this mode's modules once)
      times = [];
      const start = performance.now();
      while (times.length < 3 || performance.now() - start < KERNEL_MS) call();
      rounds[mode].push(median(times));
    }
  }
  const ratios = rounds.simd128.map((ms, i) => ms / rounds.relaxed[i]!);
  results.push({
    name: `${c.label} (batch ${n}), relaxed vs SIMD128`,
    value: median(rounds.relaxed),
    unit: 'ms',
    vsBaseline: median(ratios),
    note: `SIMD128 ${median(rounds.simd128).toFixed(1)} ms; speed-up per round ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
  });
  tf.dispose([x, w, dy]);
}

for (const cfg of process.env.BENCH_PART === 'kernels' ? [] : CONFIGS.filter((c) => c.label.includes(ONLY))) {
  const { model } = await buildModel(
    cfg.model,
    cfg.params,
    { height: 48, width: 48, channels: 1, numClasses: 7 },
    { seed: 1 },
  );
  const xs = tf.randomUniform([cfg.batch, 48, 48, 1]);
  const ys = labelTensor(
    Array.from({ length: cfg.batch }, (_, i) => i % 7),
    7,
  );
  const samples: Record<WasmSimdMode, number[]> = { simd128: [], relaxed: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // ABBA: alternate which mode goes first, so a load trend on the machine favours neither.
    const order: WasmSimdMode[] = r % 2 === 0 ? ['simd128', 'relaxed'] : ['relaxed', 'simd128'];
    for (const mode of order) {
      setWasmSimdMode(mode);
      await model.trainOnBatch(xs, ys); // warm-up: this mode's kernels compile on first use
      samples[mode].push(await imagesPerSecond(cfg.batch, () => model.trainOnBatch(xs, ys)));
    }
  }
  // The ratio of each round's pair (measured seconds apart), then their median: robust to load that changes
  // between rounds, which moves both modes of a round alike.
  const ratios = samples.relaxed.map((x, i) => x / samples.simd128[i]!);
  const list = (xs: number[], digits = 1): string => xs.map((x) => x.toFixed(digits)).join(', ');
  results.push(
    {
      name: `${cfg.label} train, SIMD128 kernels`,
      value: median(samples.simd128),
      unit: 'img/s',
      note: `rounds ${list(samples.simd128)}`,
    },
    {
      name: `${cfg.label} train, relaxed-SIMD kernels`,
      value: median(samples.relaxed),
      unit: 'img/s',
      vsBaseline: median(ratios),
      note: `rounds ${list(samples.relaxed)}; paired ratios ${list(ratios, 2)}`,
    },
  );
  tf.dispose([xs, ys]);
  disposeModel(model);
}
setWasmSimdMode(startMode);
await report('relaxed', results, { rounds: ROUNDS, steps: STEPS, minSeconds: MIN_SECONDS, cpu });
