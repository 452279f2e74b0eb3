import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { runGenerated, withScope, type WasmBackend, heapOffset } from '../kernel-utils.js';
import { addTo, copy, encodeModule, Locals, madd, op, repeat } from '../../wasm/index.js';

/** Geometry of a few-input-channel filter gradient on the padded input (dilation 1). */
interface C1Shape {
  n: number;
  hp: number;
  wp: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ci: number;
  co: number;
}

/** Largest input-channel count the loop takes (the first conv of a model: grayscale or RGB). */
export const FEW_CHANNELS_MAX = 4;

/**
 * dW[u,v,c,co] = Σ_{n,i,j} xp[n, i·sh+u, j·sw+v, c] · dy[n,i,j,co] for one input channel c of a few-channel input
 * (a model's first conv on grayscale or RGB images), where GEMM formulations degenerate to a 9-row matrix. Per
 * group of 16 output channels (one cache line of dy), the kh·kw × 4 accumulators stay in (or near) registers
 * while every output pixel streams by: each tap costs one splat load of x and four multiply-adds.
 * Params: XP (padded input, offset to channel c), DY, OUT (offset to row c of each tap).
 */
function encodeC1(s: C1Shape): Uint8Array {
  const taps = s.kh * s.kw;
  const l = new Locals(3);
  const [X, DY, OUT] = l.paramIndices();
  const [cG, cN, cI, cJ, gOff, xrow, xp, dyp] = l.i32s(8);
  const accs = l.v128s(taps * 4);
  const acc = (t: number, q: number): number => accs[t * 4 + q] as number;
  const dys = l.v128s(4);
  const d = (q: number): number => dys[q] as number;
  const splat = l.v128();
  const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
  const px = s.ci * 4; // bytes per input pixel
  const tapOffset = (t: number): number => (Math.floor(t / s.kw) * s.wp + (t % s.kw)) * px;
  const pixel = [
    ...range(4).flatMap((q) => [...op.get(dyp), ...op.v128Load(q * 16), ...op.set(d(q))]),
    ...range(taps).flatMap((t) => [
      ...op.get(xp),
      ...op.v128Load32Splat(tapOffset(t)),
      ...op.set(splat),
      ...range(4).flatMap((q) => [...madd(op.get(splat), op.get(d(q)), op.get(acc(t, q))), ...op.set(acc(t, q))]),
    ]),
    ...addTo(xp, s.sw * px),
    ...addTo(dyp, s.co * 4),
  ];
  const group = [
    ...range(taps).flatMap((t) => range(4).flatMap((q) => [...op.v128Zero, ...op.set(acc(t, q))])),
    ...copy(xrow, X),
    ...op.get(DY),
    ...op.get(gOff),
    ...op.add,
    ...op.set(dyp),
    ...repeat(
      cN,
      s.n,
      repeat(cI, s.oh, copy(xp, xrow), repeat(cJ, s.ow, pixel), addTo(xrow, s.sh * s.wp * px)),
      addTo(xrow, (s.hp - s.oh * s.sh) * s.wp * px),
    ),
    ...range(taps).flatMap((t) =>
      range(4).flatMap((q) => [
        ...op.get(OUT),
        ...op.get(gOff),
        ...op.add,
        ...op.get(acc(t, q)),
        ...op.v128Store(t * s.ci * s.co * 4 + q * 16),
      ]),
    ),
    ...addTo(gOff, 64),
  ];
  const body = [...op.i32(0), ...op.set(gOff), ...repeat(cG, s.co / 16, group)];
  return encodeModule(l, body);
}

/** True when {@link conv2DBackpropFilterC1} takes the layer: ≤ 4 input channels, 16·k filters, dilation 1. */
export function c1FilterApplies(info: backend_util.Conv2DInfo): boolean {
  return (
    info.inChannels <= FEW_CHANNELS_MAX &&
    info.outChannels % 16 === 0 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.dataFormat === 'channelsLast'
  );
}

/** Filter gradient of a few-input-channel conv (see {@link encodeC1}); call only when {@link c1FilterApplies}. */
export function conv2DBackpropFilterC1(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  return withScope(backend, (s) => {
    const xp = s.padHW(x, p.top, p.bottom, p.left, p.right);
    const shape: C1Shape = { n, hp: h + p.top + p.bottom, wp: w + p.left + p.right, oh, ow, kh, kw, sh, sw, ci, co };
    if ((oh - 1) * sh + kh > shape.hp || (ow - 1) * sw + kw > shape.wp) {
      throw new Error('conv2DBackpropFilterC1: the windows read past the padded input');
    }
    const out = s.track(backend.makeOutput([kh, kw, ci, co], 'float32'));
    const [xo, dyo, oo] = [heapOffset(backend, xp), heapOffset(backend, dy), heapOffset(backend, out)];
    for (let c = 0; c < ci; c++) runGenerated(backend, 'c1filter', shape, encodeC1, [xo + c * 4, dyo, oo + c * co * 4]);
    return out;
  });
}
