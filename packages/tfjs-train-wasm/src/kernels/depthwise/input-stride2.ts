import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { runGenerated, withScope, type WasmBackend } from '../kernel-utils.js';
import { addTo, copy, encodeModule, Locals, madd, op, repeat } from '../../wasm/index.js';

/** Geometry of a 3×3 stride-2 depthwise layer whose input is exactly twice its output (TF 'same', even size). */
interface Stride2Shape {
  n: number;
  oh: number;
  ow: number;
  c: number;
}

/**
 * Input gradient of a 3×3, stride-2 depthwise conv with padding (0, 1) on even sizes — MobileNetV2's downsampling
 * layers — by output parity ("sub-pixel" form). Each 2×2 block (a, b) of dx takes only real products:
 *   dx[2a,2b]     = dy[a,b]·w00 + dy[a,b−1]·w02 + dy[a−1,b]·w20 + dy[a−1,b−1]·w22
 *   dx[2a,2b+1]   = dy[a,b]·w01 + dy[a−1,b]·w21
 *   dx[2a+1,2b]   = dy[a,b]·w10 + dy[a,b−1]·w12
 *   dx[2a+1,2b+1] = dy[a,b]·w11
 * (dy[−1] = 0 through one zero row and column in front of dy). Every dx element is written once; the
 * dilate-then-convolve formulation spends 3/4 of its multiply-adds on inserted zeros.
 * Params: DYP ([n, oh+1, ow+1, c], zero top row/left column), W ([3, 3, c]), DX.
 */
function encodeStride2(s: Stride2Shape): Uint8Array {
  const cb = s.c * 4;
  const dyRow = (s.ow + 1) * cb;
  const dxRow = 2 * s.ow * cb;
  const l = new Locals(3);
  const [DYP, W, DX] = l.paramIndices();
  const [cN, cA, cB, cC, dyr, dxr, dyq, dxq, wq] = l.i32s(9);
  const [d00, d01, d10, d11] = l.v128s(4); // dy[a−1,b−1], dy[a−1,b], dy[a,b−1], dy[a,b]
  const w = (t: number): number[] => [...op.get(wq), ...op.v128Load(t * cb)];
  const mul = (d: number, t: number): number[] => [...op.get(d), ...w(t), ...op.f32x4Mul];
  /** Σ dy·w over [dy local, filter tap] pairs: the first a product, the others multiply-adds into it. */
  const dot = (first: [number, number], ...rest: [number, number][]): number[] =>
    rest.reduce((code, [d, t]) => madd(op.get(d), w(t), code), mul(...first));
  const store = (offset: number, value: number[]): number[] => [...op.get(dxq), ...value, ...op.v128Store(offset)];
  const block = [
    ...[d00, d01, d10, d11].flatMap((local, k) => [
      ...op.get(dyq),
      ...op.v128Load([0, cb, dyRow, dyRow + cb][k] as number),
      ...op.set(local),
    ]),
    ...store(0, dot([d11, 0], [d10, 2], [d01, 6], [d00, 8])),
    ...store(cb, dot([d11, 1], [d01, 7])),
    ...store(2 * s.ow * cb, dot([d11, 3], [d10, 5])),
    ...store(2 * s.ow * cb + cb, dot([d11, 4])),
    ...addTo(dyq, 16),
    ...addTo(dxq, 16),
    ...addTo(wq, 16),
  ];
  const body = [
    ...copy(dyr, DYP),
    ...copy(dxr, DX),
    ...repeat(
      cN,
      s.n,
      repeat(
        cA,
        s.oh,
        copy(dyq, dyr),
        copy(dxq, dxr),
        repeat(cB, s.ow, copy(wq, W), repeat(cC, s.c / 4, block), addTo(dxq, cb)),
        addTo(dyr, dyRow),
        addTo(dxr, 2 * dxRow),
      ),
      addTo(dyr, dyRow),
    ),
  ];
  return encodeModule(l, body);
}

/** True when {@link depthwiseBackpropInputStride2} takes the layer (see {@link encodeStride2}). */
export function stride2InputApplies(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    p.top === 0 &&
    p.left === 0 &&
    info.inHeight === 2 * info.outHeight &&
    info.inWidth === 2 * info.outWidth &&
    info.inChannels % 4 === 0
  );
}

/** Stride-2 depthwise input gradient (multiplier 1); call only when {@link stride2InputApplies}. */
export function depthwiseBackpropInputStride2(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  return withScope(backend, (s) => {
    const dyp = s.padHW(dy, 1, 0, 1, 0);
    const dx = s.track(backend.makeOutput([n, h, w, c], 'float32'));
    const shape: Stride2Shape = { n, oh, ow, c };
    runGenerated(backend, 'dw-input-s2', shape, encodeStride2, [dyp, filter, dx]);
    return dx;
  });
}
