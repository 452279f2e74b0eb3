import { ModelError } from '../variants/errors.js';
import type { GraphLayer, GraphWeight } from './graph.js';
import { float, type OnnxGraphBuilder } from './onnx-builder.js';

/**
 * A tfjs tensor in the ONNX graph. `nchw` means the ONNX tensor is the tfjs (NHWC) tensor transposed to NCHW —
 * what ONNX's Conv, pooling and BatchNormalization take; `tf` means it is laid out exactly as in tfjs.
 */
export interface OnnxValue {
  name: string;
  layout: 'tf' | 'nchw';
  rank: number;
}

/** Converts one layer: its inputs, already in the graph, to its output. */
type Converter = (b: OnnxGraphBuilder, layer: GraphLayer, inputs: OnnxValue[]) => OnnxValue;

export const unsupportedLayer = (layer: GraphLayer, what: string): ModelError =>
  new ModelError('UnsupportedExport', `cannot export layer ${layer.name} (${layer.className}) to ONNX: ${what}`, {
    field: layer.name,
  });

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

/** `v` in the requested layout (a Transpose when it differs; rank-4 tensors only). */
export function toLayout(b: OnnxGraphBuilder, v: OnnxValue, layout: OnnxValue['layout']): OnnxValue {
  if (v.layout === layout || v.rank !== 4) return v;
  const perm = layout === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC;
  return { name: b.node('Transpose', [v.name], `${v.name}_${layout}`, { perm }), layout, rank: 4 };
}

function weight(layer: GraphLayer, name: string): GraphWeight | undefined {
  return layer.weights.find((w) => w.name === name);
}

function requireWeight(layer: GraphLayer, name: string): GraphWeight {
  const w = weight(layer, name);
  if (w === undefined) throw unsupportedLayer(layer, `it has no ${name} weight`);
  return w;
}

/** `values` of shape `shape` with its axes permuted (a small host-side transpose for weights). */
export function permute(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(values.length);
  const outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += index[i]! * strides[perm[i]!]!;
    out[o] = values[src]!;
    for (let i = outShape.length - 1; i >= 0; i--) {
      if (++index[i]! < outShape[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

/**
 * Applies a tfjs activation (by its serialised name) to `v`. Softmax runs over the last tfjs axis, so it takes
 * the tfjs layout.
 */
export function activation(b: OnnxGraphBuilder, layer: GraphLayer, v: OnnxValue, name: string): OnnxValue {
  const unary = (op: string, attrs = {}) => ({ ...v, name: b.node(op, [v.name], layer.name, attrs) });
  switch (name) {
    case 'linear':
      return v;
    case 'relu':
      return unary('Relu');
    case 'relu6':
      return { ...v, name: b.node('Clip', [v.name, b.scalar(0), b.scalar(6)], layer.name) };
    case 'sigmoid':
      return unary('Sigmoid');
    case 'tanh':
      return unary('Tanh');
    case 'elu':
      return unary('Elu');
    case 'selu':
      return unary('Selu');
    case 'softplus':
      return unary('Softplus');
    case 'softsign':
      return unary('Softsign');
    case 'hardSigmoid':
    case 'hard_sigmoid':
      return unary('HardSigmoid');
    case 'softmax': {
      const x = toLayout(b, v, 'tf');
      return { ...x, name: b.node('Softmax', [x.name], layer.name, { axis: -1 }) };
    }
    default:
      throw unsupportedLayer(layer, `activation ${name} has no ONNX equivalent here`);
  }
}

/** TF's padding of one spatial axis: 'same' pads `total` with the extra pixel at the end (bottom/right). */
function tfPads(padding: unknown, size: number, kernel: number, stride: number, dilation: number): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v]) as [number, number];

/** Conv attributes with TF's explicit (possibly asymmetric) 'same' pads for the layer's static input size. */
function spatialAttrs(layer: GraphLayer, kernel: [number, number]) {
  const c = layer.config;
  if (c['padding'] !== 'same' && c['padding'] !== 'valid')
    throw unsupportedLayer(layer, `padding ${String(c['padding'])}`);
  if (c['dataFormat'] !== undefined && c['dataFormat'] !== 'channelsLast')
    throw unsupportedLayer(layer, 'channels-first data');
  const strides = pair(c['strides'] ?? 1);
  const dilations = pair(c['dilationRate'] ?? 1);
  const [, h, w] = layer.inputShapes[0]!;
  if (typeof h !== 'number' || typeof w !== 'number') throw unsupportedLayer(layer, 'the image size is not static');
  const [top, bottom] = tfPads(c['padding'], h, kernel[0], strides[0], dilations[0]);
  const [left, right] = tfPads(c['padding'], w, kernel[1], strides[1], dilations[1]);
  return { strides, dilations, pads: [top, left, bottom, right] };
}

const conv: Converter = (b, layer, [x]) => {
  const k = requireWeight(layer, 'kernel');
  const [kh, kw, cin, cout] = k.shape as [number, number, number, number];
  const w = b.floats(`${layer.name}/kernel`, permute(k.values, k.shape, [3, 2, 0, 1]), [cout, cin, kh, kw]);
  const bias = weight(layer, 'bias');
  const { strides, dilations, pads } = spatialAttrs(layer, [kh, kw]);
  const inputs = [
    toLayout(b, x!, 'nchw').name,
    w,
    ...(bias ? [b.floats(`${layer.name}/bias`, bias.values, [cout])] : []),
  ];
  const y = b.node('Conv', inputs, layer.name, { kernel_shape: [kh, kw], strides, dilations, pads, group: 1 });
  return activation(b, layer, { name: y, layout: 'nchw', rank: 4 }, String(layer.config['activation'] ?? 'linear'));
};

const depthwise: Converter = (b, layer, [x]) => {
  const k = requireWeight(layer, 'depthwise_kernel');
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  // TF's output channel c·mult + m reads input channel c: ONNX groups of `mult` outputs per input channel.
  const w = b.floats(`${layer.name}/kernel`, permute(k.values, k.shape, [2, 3, 0, 1]), [cin * mult, 1, kh, kw]);
  const bias = weight(layer, 'bias');
  const { strides, dilations, pads } = spatialAttrs(layer, [kh, kw]);
  const inputs = [
    toLayout(b, x!, 'nchw').name,
    w,
    ...(bias ? [b.floats(`${layer.name}/bias`, bias.values, [cin * mult])] : []),
  ];
  const y = b.node('Conv', inputs, layer.name, { kernel_shape: [kh, kw], strides, dilations, pads, group: cin });
  return activation(b, layer, { name: y, layout: 'nchw', rank: 4 }, String(layer.config['activation'] ?? 'linear'));
};

const batchNorm: Converter = (b, layer, [x]) => {
  const axis = Number(layer.config['axis'] ?? -1);
  const rank = x!.rank;
  if (axis !== -1 && axis !== rank - 1)
    throw unsupportedLayer(layer, `normalising axis ${axis} (only the channel axis)`);
  const input = rank === 4 ? toLayout(b, x!, 'nchw') : x!;
  const mean = requireWeight(layer, 'moving_mean');
  const n = mean.values.length;
  const param = (name: string, fill: number) =>
    b.floats(`${layer.name}/${name}`, weight(layer, name)?.values ?? new Float32Array(n).fill(fill), [n]);
  const inputs = [
    input.name,
    param('gamma', 1),
    param('beta', 0),
    param('moving_mean', 0),
    param('moving_variance', 1),
  ];
  const y = b.node('BatchNormalization', inputs, layer.name, {
    epsilon: float(Number(layer.config['epsilon'] ?? 1e-3)),
  });
  return { ...input, name: y };
};

const dense: Converter = (b, layer, [x]) => {
  const input = toLayout(b, x!, 'tf');
  const k = requireWeight(layer, 'kernel');
  const w = b.floats(`${layer.name}/kernel`, k.values, k.shape);
  const bias = weight(layer, 'bias');
  let y: string;
  if (input.rank === 2) {
    const c = bias ? [b.floats(`${layer.name}/bias`, bias.values, bias.shape)] : [];
    y = b.node('Gemm', [input.name, w, ...c], layer.name);
  } else {
    // Dense on more than two axes contracts the last one (Keras and tfjs alike): MatMul broadcasts the same way.
    y = b.node('MatMul', [input.name, w], layer.name);
    if (bias) y = b.node('Add', [y, b.floats(`${layer.name}/bias`, bias.values, bias.shape)], layer.name);
  }
  return activation(
    b,
    layer,
    { name: y, layout: 'tf', rank: input.rank },
    String(layer.config['activation'] ?? 'linear'),
  );
};

function pooling(op: 'MaxPool' | 'AveragePool'): Converter {
  return (b, layer, [x]) => {
    const kernel = pair(layer.config['poolSize'] ?? 2);
    const { strides, pads } = spatialAttrs(layer, kernel);
    const y = b.node(op, [toLayout(b, x!, 'nchw').name], layer.name, { kernel_shape: kernel, strides, pads });
    return { name: y, layout: 'nchw', rank: 4 };
  };
}

function globalPooling(op: 'GlobalAveragePool' | 'GlobalMaxPool'): Converter {
  return (b, layer, [x]) => {
    if (layer.config['keepDims'] === true) throw unsupportedLayer(layer, 'keepDims');
    const pooled = b.node(op, [toLayout(b, x!, 'nchw').name], layer.name);
    return { name: b.node('Flatten', [pooled], layer.name, { axis: 1 }), layout: 'tf', rank: 2 };
  };
}

/** The position of tfjs axis `axis` of a rank-`rank` tensor in `v`'s ONNX layout. */
function onnxAxis(axis: number, v: OnnxValue): number {
  const a = axis < 0 ? axis + v.rank : axis;
  return v.layout === 'nchw' ? ([0, 2, 3, 1][a] as number) : a;
}

/** Inputs in one layout: NCHW when any of them is (so a residual add needs no transpose). */
function sameLayout(b: OnnxGraphBuilder, inputs: OnnxValue[]): OnnxValue[] {
  const layout = inputs.some((v) => v.layout === 'nchw') ? 'nchw' : 'tf';
  return inputs.map((v) => toLayout(b, v, layout));
}

const identity: Converter = (_b, _layer, [x]) => x!;

const CONVERTERS: Record<string, Converter> = {
  Conv2D: conv,
  DepthwiseConv2D: depthwise,
  BatchNormalization: batchNorm,
  Dense: dense,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  Activation: (b, layer, [x]) => activation(b, layer, x!, String(layer.config['activation'])),
  ReLU: (b, layer, [x]) => {
    const max = layer.config['maxValue'];
    if (typeof max !== 'number') return { ...x!, name: b.node('Relu', [x!.name], layer.name) };
    return { ...x!, name: b.node('Clip', [x!.name, b.scalar(0), b.scalar(max)], layer.name) };
  },
  Softmax: (b, layer, [x]) => {
    const axis = Number(layer.config['axis'] ?? -1);
    return { ...x!, name: b.node('Softmax', [x!.name], layer.name, { axis: onnxAxis(axis, x!) }) };
  },
  Rescaling: (b, layer, [x]) => {
    const scaled = b.node(
      'Mul',
      [x!.name, b.floats(`${layer.name}/scale`, [Number(layer.config['scale'])], [])],
      layer.name,
    );
    const offset = b.floats(`${layer.name}/offset`, [Number(layer.config['offset'] ?? 0)], []);
    return { ...x!, name: b.node('Add', [scaled, offset], layer.name) };
  },
  Add: (b, layer, inputs) => {
    const [first, ...rest] = sameLayout(b, inputs);
    return rest.reduce((acc, v) => ({ ...acc, name: b.node('Add', [acc.name, v.name], layer.name) }), first!);
  },
  Concatenate: (b, layer, inputs) => {
    const xs = sameLayout(b, inputs);
    const axis = onnxAxis(Number(layer.config['axis'] ?? -1), xs[0]!);
    return {
      ...xs[0]!,
      name: b.node(
        'Concat',
        xs.map((v) => v.name),
        layer.name,
        { axis },
      ),
    };
  },
  Permute: (b, layer, [x]) => {
    const input = toLayout(b, x!, 'tf');
    const perm = [0, ...(layer.config['dims'] as number[])];
    return { ...input, name: b.node('Transpose', [input.name], layer.name, { perm }) };
  },
  Flatten: (b, layer, [x]) => {
    // tfjs flattens NHWC in (h, w, c) order: the following Dense's kernel rows are in that order.
    const input = toLayout(b, x!, 'tf');
    return { name: b.node('Flatten', [input.name], layer.name, { axis: 1 }), layout: 'tf', rank: 2 };
  },
  Reshape: (b, layer, [x]) => {
    const input = toLayout(b, x!, 'tf');
    const target = layer.config['targetShape'] as number[];
    const shape = b.int64s(`${layer.name}/shape`, [0, ...target]);
    return { name: b.node('Reshape', [input.name, shape], layer.name), layout: 'tf', rank: target.length + 1 };
  },
  ZeroPadding2D: (b, layer, [x]) => {
    const p = layer.config['padding'] as number[][];
    const [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
    const pads = b.int64s(`${layer.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
    return { name: b.node('Pad', [toLayout(b, x!, 'nchw').name, pads], layer.name), layout: 'nchw', rank: 4 };
  },
};

/** Converts `layer` (whose inputs are `inputs`) into ONNX nodes; throws 'UnsupportedExport' for unknown layers. */
export function convertLayer(b: OnnxGraphBuilder, layer: GraphLayer, inputs: OnnxValue[]): OnnxValue {
  const converter = CONVERTERS[layer.className];
  if (converter === undefined) throw unsupportedLayer(layer, 'no ONNX conversion for this layer class');
  return converter(b, layer, inputs);
}
