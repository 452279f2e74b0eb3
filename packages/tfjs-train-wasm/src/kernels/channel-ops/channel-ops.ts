import {
  backend_util,
  util,
  type FusedBatchNormAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { f32, input, withScope, type WasmBackend, type WasmKernelArgs } from '../kernel-utils.js';
import { cachedKernel, encodeModule, Locals, op, rowsByChannels } from '../../wasm/index.js';

/** What a channel loop computes per element, with v = a[r, c] and p, q = the per-channel vectors at c. */
export type ChannelOp = 'mul' | 'add' | 'sub' | 'rsub' | 'div' | 'affine';

/**
 * SIMD loop over `rows` rows of `cols` floats (a multiple of 4): out[r,c] = a[r,c] ∘ p[c] (or p[c] ∘ a[r,c] for
 * rsub; a[r,c]·p[c] + q[c] for affine). The per-channel vectors stay in cache while rows stream through.
 */
function channelModule(kind: ChannelOp): Uint8Array {
  const l = new Locals(6);
  const [A, P, Q, OUT, ROWS, COLS] = l.paramIndices();
  const [c, ap, op_] = l.i32s(3);
  const combine: number[][] = (() => {
    const a = [...op.get(ap), ...op.v128Load(0)];
    const p = [...op.get(P), ...op.get(c), ...op.add, ...op.v128Load(0)];
    switch (kind) {
      case 'mul':
        return [a, p, op.f32x4Mul];
      case 'add':
        return [a, p, op.f32x4Add];
      case 'sub':
        return [a, p, op.f32x4Sub];
      case 'rsub':
        return [p, a, op.f32x4Sub];
      case 'div':
        return [a, p, op.f32x4Div];
      case 'affine':
        return [a, p, op.f32x4Mul, op.get(Q), op.get(c), op.add, op.v128Load(0), op.f32x4Add];
    }
  })();
  const body = rowsByChannels(
    ROWS,
    COLS,
    c,
    [
      [ap, A],
      [op_, OUT],
    ],
    [op.get(op_), ...combine, op.v128Store(0)],
  );
  return encodeModule(l, body);
}

/**
 * Runs out = a ∘ p over [rows, cols] with p (and q) per-channel buffers of `cols` floats (cols % 4 = 0).
 * Offsets are heap byte offsets.
 */
function runChannelOp(
  backend: WasmBackend,
  kind: ChannelOp,
  a: number,
  p: number,
  q: number,
  out: number,
  rows: number,
  cols: number,
): void {
  if (rows === 0) return;
  const run = cachedKernel(`channel:${kind}`, backend.wasm.asm.memory, () => channelModule(kind));
  run(a, p, q, out, rows, cols * 4);
}

/** Channels of a per-channel operand of `full`: its size when its shape is [..1.., C] matching full's last dim. */
function channelsOf(vec: readonly number[], full: readonly number[]): number | null {
  if (vec.length === 0 || vec.length > full.length) return null;
  const c = vec[vec.length - 1];
  if (c === undefined || c !== full[full.length - 1]) return null;
  for (let i = 0; i < vec.length - 1; i++) if (vec[i] !== 1) return null;
  return c;
}

const BINARY: Record<string, { direct: ChannelOp; swapped: ChannelOp | null }> = {
  Multiply: { direct: 'mul', swapped: 'mul' },
  Add: { direct: 'add', swapped: 'add' },
  Sub: { direct: 'sub', swapped: 'rsub' },
  RealDiv: { direct: 'div', swapped: null },
};

/**
 * Float32 binary kernels (Multiply, Add, Sub, RealDiv) with a SIMD path where one operand is per-channel (shape
 * [C] or [1,…,1,C] against [..., C]) or a scalar: the stock wasm kernels walk such broadcasts with generic index
 * arithmetic at ~3–4 ns per element (BatchNorm's statistics and gradients are all of this kind). Anything else
 * goes to the stock kernel.
 */
export function makeChannelBinaryWasm(kernelName: keyof typeof BINARY, stock: KernelConfig) {
  const kinds = BINARY[kernelName];
  if (kinds === undefined) throw new Error(`no channel op for ${kernelName}`);
  const fallback = (args: WasmKernelArgs<unknown>): TensorInfo =>
    stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  return (args: WasmKernelArgs<unknown>): TensorInfo => {
    const a = input(args, 'a');
    const b = input(args, 'b');
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const aSize = util.sizeFromShape(a.shape);
    const bSize = util.sizeFromShape(b.shape);
    let full = a;
    let vec = b;
    let kind: ChannelOp = kinds.direct;
    if (bSize > aSize || (bSize === aSize && b.shape.length > a.shape.length)) {
      if (kinds.swapped === null) return fallback(args);
      full = b;
      vec = a;
      kind = kinds.swapped;
    }
    const size = util.sizeFromShape(full.shape);
    const vecSize = util.sizeFromShape(vec.shape);
    if (size === vecSize || size < 64) return fallback(args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (!util.arraysEqual(outShape, full.shape)) return fallback(args);
    const { backend } = args;
    const scalar = vecSize === 1;
    const cols = scalar ? 4 : channelsOf(vec.shape, full.shape);
    if (cols === null || cols % 4 !== 0 || size % cols !== 0) return fallback(args);
    return withScope(backend, (s) => {
      let p = vec;
      if (scalar) {
        p = s.track(backend.makeOutput([4], 'float32'));
        f32(backend, p).fill(f32(backend, vec)[0] as number);
      }
      const out = s.track(backend.makeOutput(full.shape.slice(), 'float32'));
      const po = backend.getMemoryOffset(p.dataId);
      runChannelOp(
        backend,
        kind,
        backend.getMemoryOffset(full.dataId),
        po,
        po,
        backend.getMemoryOffset(out.dataId),
        size / cols,
        cols,
      );
      return out;
    });
  };
}

/**
 * FusedBatchNorm with per-channel statistics as one SIMD pass out = x·k + t, k = scale·rsqrt(var+ε),
 * t = offset − mean·k (k and t computed once per channel in float64). The stock kernel runs ~4 ns per element.
 */
export function makeFusedBatchNormWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<FusedBatchNormAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const mean = input(args, 'mean');
    const variance = input(args, 'variance');
    const { scale, offset } = args.inputs;
    const c = x.shape[x.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined): boolean =>
      t === undefined || (t.dtype === 'float32' && util.sizeFromShape(t.shape) === c);
    if (c === undefined || c % 4 !== 0 || x.dtype !== 'float32' || ![mean, variance, scale, offset].every(perChannel)) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const { backend } = args;
    const eps = args.attrs.varianceEpsilon;
    return withScope(backend, (s) => {
      const kt = s.track(backend.makeOutput([2 * c], 'float32'));
      const out = s.track(backend.makeOutput(x.shape.slice(), 'float32'));
      const m = f32(backend, mean);
      const v = f32(backend, variance);
      const g = scale === undefined ? null : f32(backend, scale);
      const o = offset === undefined ? null : f32(backend, offset);
      const dst = f32(backend, kt);
      for (let i = 0; i < c; i++) {
        const k = (g === null ? 1 : (g[i] as number)) / Math.sqrt((v[i] as number) + eps);
        dst[i] = k;
        dst[c + i] = (o === null ? 0 : (o[i] as number)) - (m[i] as number) * k;
      }
      const kOff = backend.getMemoryOffset(kt.dataId);
      runChannelOp(
        backend,
        'affine',
        backend.getMemoryOffset(x.dataId),
        kOff,
        kOff + 4 * c,
        backend.getMemoryOffset(out.dataId),
        util.sizeFromShape(x.shape) / c,
        c,
      );
      return out;
    });
  };
}
