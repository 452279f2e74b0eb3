// Micro-benchmark of the wasm training kernels supplied by @fersweep/tfjs-train-wasm, stock vs supplied (and
// the alternative strategies of its `./strategies` entry), on the layer shapes of the real models (batch 64).
// Run from the repo root:
//   npx tsc -b packages/tfjs-train-wasm && node bench/kernels.mjs [substring-filter]
// Prints GFLOP/s (median of repeated runs; the machine is shared, so compare within one run).
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '@fersweep/tfjs-train-wasm';
import {
  conv2DFilterStrategies,
  depthwiseFilterStrategies,
  depthwiseInputStrategies,
} from '@fersweep/tfjs-train-wasm/strategies';

const filter = process.argv[2] ?? '';
const N = Number(process.env.BENCH_BATCH ?? 64);
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 400);

await tf.setBackend('wasm');
await tf.ready();

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of `run` (which returns tensors to dispose), after one warm-up. */
function time(run) {
  tf.dispose(run());
  const samples = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < MIN_MS && samples.length < 15)) {
    const t0 = performance.now();
    const out = run();
    samples.push(performance.now() - t0);
    tf.dispose(out);
  }
  return median(samples);
}

const rnd = (shape, offset = 0) => tf.tidy(() => tf.randomUniform(shape, -1 + offset, 1 + offset));
const rows = [];
function report(kernel, shape, flops, variants) {
  const cells = Object.entries(variants).map(
    ([name, ms]) => `${name} ${ms === null ? 'n/a' : `${(flops / ms / 1e6).toFixed(2)} GF/s (${ms.toFixed(1)} ms)`}`,
  );
  console.log(`${kernel.padEnd(22)} ${shape.padEnd(34)} ${cells.join(' | ')}`);
  rows.push({ kernel, shape, flops, variants });
}

function withKernel(name, kernelFunc, run) {
  const stock = tf.getKernel(name, 'wasm');
  if (stock) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  try {
    return run();
  } finally {
    tf.unregisterKernel(name, 'wasm');
    if (stock) tf.registerKernel(stock);
  }
}

function stockOrNull(name, run) {
  unregisterWasmTrainingKernels();
  try {
    return tf.getKernel(name, 'wasm') ? run() : null;
  } finally {
    registerWasmTrainingKernels();
  }
}

// The end-to-end section takes minutes: it runs only when asked for (`node bench/kernels.mjs e2e`).
const want = (k) => (filter === '' ? k !== 'e2e' : k.toLowerCase().includes(filter.toLowerCase()));
registerWasmTrainingKernels();

// FER CNN (classic Keras FER2013 CNN): 3×3 'same' convs, 64→128→256→512 channels at 48→24→12→6 px.
const ferConvs = [
  [48, 1, 64],
  [48, 64, 64],
  [24, 64, 128],
  [24, 128, 128],
  [12, 128, 256],
  [12, 256, 256],
  [6, 256, 512],
  [6, 512, 512],
];
// MobileNetV2 pointwise (1×1) and first (3×3/2) convs at 48 px.
const mbConvs = [
  [24, 32, 192, 1, 1, 'α1 expand 24px'],
  [12, 144, 32, 1, 1, 'α1 project 12px'],
  [3, 576, 160, 1, 1, 'α1 project 3px'],
  [2, 320, 1280, 1, 1, 'α1 head 2px'],
  [48, 3, 32, 3, 2, 'α1 stem 3×3/2'],
];

for (const kernel of ['Conv2DBackpropFilter', 'Conv2DBackpropInput']) {
  if (!want(kernel)) continue;
  const cases = [
    ...ferConvs.map(([hw, ci, co]) => ({ hw, ci, co, k: 3, s: 1, tag: 'FER' })),
    ...mbConvs.map(([hw, ci, co, k, s, tag]) => ({ hw, ci, co, k, s, tag })),
  ];
  for (const { hw, ci, co, k, s, tag } of cases) {
    // The first layer (and the stem) need no input gradient: the image is not trained.
    if (kernel === 'Conv2DBackpropInput' && ci <= 3) continue;
    const oh = Math.ceil(hw / s);
    const x = rnd([N, hw, hw, ci]);
    const w = rnd([k, k, ci, co]);
    const dy = rnd([N, oh, oh, co]);
    const flops = 2 * N * oh * oh * k * k * ci * co;
    const attrs = {
      strides: s,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape: [k, k, ci, co],
      inputShape: [N, hw, hw, ci],
    };
    const inputs = kernel === 'Conv2DBackpropFilter' ? { x, dy } : { dy, filter: w };
    const run = () => tf.engine().runKernel(kernel, inputs, attrs);
    const variants = { stock: stockOrNull(kernel, () => time(run)), supplied: time(run) };
    if (kernel === 'Conv2DBackpropFilter') {
      for (const [name, fn] of Object.entries(conv2DFilterStrategies)) {
        if (name.startsWith('gemm') && (s !== 1 || k === 1)) continue;
        if (name === 'gemm-blocks') continue;
        variants[name] = withKernel(kernel, fn, () => time(run));
      }
    }
    report(kernel, `${tag} ${hw}px ${ci}→${co} k${k}/${s}`, flops, variants);
    tf.dispose([x, w, dy]);
  }
}

// MobileNetV2 expanded depthwise layers at 48 px input: [px in, channels, stride].
const dwLayers = [
  [24, 32, 1, 'α1'],
  [24, 96, 2, 'α1'],
  [12, 144, 1, 'α1'],
  [12, 144, 2, 'α1'],
  [6, 192, 1, 'α1'],
  [6, 192, 2, 'α1'],
  [3, 384, 1, 'α1'],
  [3, 576, 1, 'α1'],
  [2, 960, 1, 'α1'],
  [24, 16, 1, 'α.35'],
  [24, 48, 2, 'α.35'],
  [12, 48, 1, 'α.35'],
  [6, 96, 1, 'α.35'],
  [3, 144, 1, 'α.35'],
  [2, 336, 1, 'α.35'],
];
for (const [kernel, strategies] of [
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseFilterStrategies],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseInputStrategies],
]) {
  if (!want(kernel)) continue;
  for (const [hw, c, s, tag] of dwLayers) {
    const oh = Math.ceil(hw / s);
    const x = rnd([N, hw, hw, c]);
    const w = rnd([3, 3, c, 1]);
    const dy = rnd([N, oh, oh, c]);
    const flops = 2 * N * oh * oh * 9 * c;
    const attrs = { strides: s, pad: 'same', dilations: 1, filterShape: [3, 3, c, 1], inputShape: [N, hw, hw, c] };
    const inputs = kernel.endsWith('Filter') ? { x, dy } : { dy, filter: w };
    const variants = {};
    for (const [name, kernelFunc] of Object.entries(strategies)) {
      variants[name] = withKernel(kernel, kernelFunc, () => time(() => tf.engine().runKernel(kernel, inputs, attrs)));
    }
    report(kernel.replace('DepthwiseConv2dNative', 'Depthwise'), `${tag} ${hw}px ${c}ch s${s}`, flops, variants);
    tf.dispose([x, w, dy]);
  }
}

if (want('MaxPoolGrad')) {
  for (const [hw, c] of [
    [48, 64],
    [24, 128],
    [12, 256],
    [6, 512],
  ]) {
    const x = rnd([N, hw, hw, c], -0.2);
    const dy = rnd([N, hw / 2, hw / 2, c]);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const run = () => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: x }, attrs);
    // Memory-bound: report input elements per ns as "GF/s" (one compare per element).
    report('MaxPoolGrad', `FER ${hw}px ${c}ch 2×2/2`, N * hw * hw * c, {
      stock: stockOrNull('MaxPoolGrad', () => time(run)),
      supplied: time(run),
    });
    tf.dispose([x, dy]);
  }
}

if (want('BatchMatMul')) {
  // Dense gradients: dW = xᵀ·dy (transposeA), dx = dy·Wᵀ (transposeB).
  for (const [m, k, n, ta, tb, tag] of [
    [4608, 64, 1024, true, false, 'FER dense dW 4608×1024'],
    [64, 1024, 4608, false, true, 'FER dense dx 4608×1024'],
    [1280, 64, 7, true, false, 'MbV2 head dW 1280×7'],
    [64, 7, 1280, false, true, 'MbV2 head dx 1280×7'],
  ]) {
    const a = rnd(ta ? [1, k, m] : [1, m, k]);
    const b = rnd(tb ? [1, n, k] : [1, k, n]);
    const run = () => tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: ta, transposeB: tb });
    report('BatchMatMul', tag, 2 * m * k * n, {
      stock: stockOrNull('BatchMatMul', () => time(run)),
      supplied: time(run),
    });
    tf.dispose([a, b]);
  }
}

if (want('BatchNorm')) {
  for (const [hw, c] of [
    [48, 64],
    [24, 144],
    [12, 192],
  ]) {
    const x = rnd([N, hw, hw, c], 0.3);
    const dy = rnd([N, hw, hw, c]);
    const gamma = rnd([c], 1);
    const beta = rnd([c]);
    const grad = tf.grads((xx, g, b) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, b, g, 1e-3), dy));
    });
    const run = () => grad([x, gamma, beta]);
    // Whole training-mode BN forward+backward (moments, FusedBatchNorm and their gradients); "GF/s" = elements per ns.
    report('BatchNorm backward', `${hw}px ${c}ch`, N * hw * hw * c, {
      stock: stockOrNull('BatchMatMul', () => time(run)),
      supplied: time(run),
    });
    tf.dispose([x, dy, gamma, beta]);
  }
}

// ---- End to end: train img/s of the real architectures (built here) and where the time goes. ----
function makeDivisible(v, d = 8) {
  const r = Math.max(d, Math.floor((v + d / 2) / d) * d);
  return r < 0.9 * v ? r + d : r;
}
function mobileNetV2(alpha, size) {
  const L = tf.layers;
  const bnRelu6 = (t) => L.reLU({ maxValue: 6 }).apply(L.batchNormalization().apply(t));
  const input = tf.input({ shape: [size, size, 3] });
  let x = bnRelu6(
    L.conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(
      input,
    ),
  );
  let cin = makeDivisible(32 * alpha);
  for (const [t, c, n, s] of [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ]) {
    const cout = makeDivisible(c * alpha);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      let h = x;
      if (t !== 1) h = bnRelu6(L.conv2d({ filters: cin * t, kernelSize: 1, useBias: false }).apply(h));
      h = bnRelu6(L.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false }).apply(h));
      h = L.batchNormalization().apply(L.conv2d({ filters: cout, kernelSize: 1, useBias: false }).apply(h));
      x = stride === 1 && cin === cout ? L.add().apply([x, h]) : h;
      cin = cout;
    }
  }
  x = bnRelu6(
    L.conv2d({ filters: alpha > 1 ? makeDivisible(1280 * alpha) : 1280, kernelSize: 1, useBias: false }).apply(x),
  );
  x = L.globalAveragePooling2d({}).apply(x);
  return tf.model({ inputs: input, outputs: L.dense({ units: 7, activation: 'softmax' }).apply(x) });
}
function ferCnn() {
  const L = tf.layers;
  const input = tf.input({ shape: [48, 48, 1] });
  let x = input;
  for (const f of [64, 128, 256, 512]) {
    for (let i = 0; i < 2; i++)
      x = L.reLU().apply(
        L.batchNormalization().apply(L.conv2d({ filters: f, kernelSize: 3, padding: 'same' }).apply(x)),
      );
    x = L.dropout({ rate: 0.25 }).apply(L.maxPooling2d({ poolSize: 2 }).apply(x));
  }
  x = L.dropout({ rate: 0.5 }).apply(L.dense({ units: 256, activation: 'relu' }).apply(L.flatten().apply(x)));
  return tf.model({ inputs: input, outputs: L.dense({ units: 7, activation: 'softmax' }).apply(x) });
}

async function trainThroughput(name, build, shape, batch, steps) {
  const model = build();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const x = rnd([batch, ...shape]);
  const y = tf
    .oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 7),
        'int32',
      ),
      7,
    )
    .toFloat();
  await model.trainOnBatch(x, y); // warm-up: optimizer slots, XNNPACK operators
  const samples = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    samples.push(performance.now() - t0);
  }
  const ms = median(samples);
  const profile = await tf.profile(() => model.trainOnBatch(x, y));
  const byKernel = new Map();
  for (const k of profile.kernels)
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const top = [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([k, t]) => `${k} ${((100 * t) / total).toFixed(0)}%`);
  console.log(
    `train ${name.padEnd(24)} batch ${batch}: ${((batch * 1000) / ms).toFixed(1)} img/s (${ms.toFixed(0)} ms/step)`,
  );
  console.log(`  kernel time (profiled step, ${total.toFixed(0)} ms): ${top.join(', ')}`);
  tf.dispose([x, y]);
  model.dispose();
}

if (want('e2e')) {
  await trainThroughput('MobileNetV2 α0.35 @48', () => mobileNetV2(0.35, 48), [48, 48, 3], N, 3);
  await trainThroughput('MobileNetV2 α1.0 @48', () => mobileNetV2(1.0, 48), [48, 48, 3], N, 3);
  if (process.env.BENCH_FER !== '0') await trainThroughput('FER CNN', ferCnn, [48, 48, 1], N, 1);
}
