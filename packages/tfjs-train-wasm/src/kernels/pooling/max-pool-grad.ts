import { backend_util, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { dims4, f32, input, runGenerated, type WasmKernelArgs } from '../kernel-utils.js';
import { addTo, copy, encodeModule, Locals, op, repeat } from '../../wasm/index.js';

/** Geometry of a pooling whose windows tile the input exactly (window = stride, no padding). */
interface TiledPool {
  n: number;
  oh: number;
  ow: number;
  c: number;
  fh: number;
  fw: number;
}

/**
 * SIMD MaxPoolGrad for windows that tile the input: per window and four channels, the first maximum of the
 * fh·fw values gets dy (masks: equal to the max and not claimed by an earlier position), the others 0. Every
 * input element belongs to exactly one window, so each is written once. Params: X, DY, OUT.
 */
function encodeTiledPoolGrad(s: TiledPool): Uint8Array {
  const taps = s.fh * s.fw;
  const w = s.ow * s.fw;
  const cb = s.c * 4;
  const l = new Locals(3);
  const [X, DY, OUT] = l.paramIndices();
  const [cRow, cCol, cCb, xrow, xp, dyp, xcol] = l.i32s(7);
  const tapValues = l.v128s(taps);
  const v = (t: number): number => tapValues[t] as number;
  const [mx, claimed, g, hit] = l.v128s(4);
  const offset = (t: number): number => (Math.floor(t / s.fw) * w + (t % s.fw)) * cb;
  const window = [
    ...Array.from({ length: taps }, (_, t) => [...op.get(xp), ...op.v128Load(offset(t)), ...op.set(v(t))]).flat(),
    ...op.get(v(0)),
    ...op.set(mx),
    ...Array.from({ length: taps - 1 }, (_, t) => [
      ...op.get(mx),
      ...op.get(v(t + 1)),
      ...op.f32x4Max,
      ...op.set(mx),
    ]).flat(),
    ...op.get(dyp),
    ...op.v128Load(0),
    ...op.set(g),
    ...op.v128Zero,
    ...op.set(claimed),
    ...Array.from({ length: taps }, (_, t) => [
      // hit = (v == max) & ~claimed; out = dy & hit; claimed |= hit
      ...op.get(v(t)),
      ...op.get(mx),
      ...op.f32x4Eq,
      ...op.get(claimed),
      ...op.v128AndNot,
      ...op.tee(hit),
      ...op.get(claimed),
      ...op.v128Or,
      ...op.set(claimed),
      ...op.get(xp),
      ...op.get(OUT),
      ...op.add,
      ...op.get(X),
      ...op.sub,
      ...op.get(g),
      ...op.get(hit),
      ...op.v128And,
      ...op.v128Store(offset(t)),
    ]).flat(),
  ];
  const body = [
    ...copy(xrow, X),
    ...copy(dyp, DY),
    ...repeat(
      cRow,
      s.n * s.oh,
      copy(xcol, xrow),
      repeat(
        cCol,
        s.ow,
        copy(xp, xcol),
        repeat(cCb, s.c / 4, window, addTo(xp, 16), addTo(dyp, 16)),
        addTo(xcol, s.fw * cb),
      ),
      addTo(xrow, s.fh * w * cb),
    ),
  ];
  return encodeModule(l, body);
}

/**
 * MaxPoolGrad that routes each dy to the first maximum of its window, like the cpu backend. The stock wasm
 * kernel starts its running max at 0, so a window whose values are all negative loses its gradient — and the
 * FER CNN pools right after BatchNorm, where such windows are common. Memory-bound, so a heap loop suffices.
 */
export function maxPoolGradWasm(args: WasmKernelArgs<MaxPoolGradAttrs>): TensorInfo {
  const { backend, attrs } = args;
  const dyInfo = input(args, 'dy');
  const xInfo = input(args, 'input');
  const info = backend_util.computePool2DInfo(
    dims4(xInfo.shape),
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  const out = backend.makeOutput(xInfo.shape.slice(), 'float32');
  const tiled =
    fh === sh &&
    fw === sw &&
    p.top === 0 &&
    p.left === 0 &&
    oh * sh === h &&
    ow * sw === w &&
    c % 4 === 0 &&
    fh * fw > 1;
  if (tiled && xInfo.dtype === 'float32' && dyInfo.dtype === 'float32') {
    const shape: TiledPool = { n, oh, ow, c, fh, fw };
    runGenerated(backend, 'maxpoolgrad', shape, encodeTiledPoolGrad, [xInfo, dyInfo, out]);
    return out;
  }
  const dx = f32(backend, out);
  dx.fill(0);
  const x = f32(backend, xInfo);
  const dy = f32(backend, dyInfo);
  // Channel-innermost: both the scan and the scatter walk contiguous memory.
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const y0 = Math.max(0, i * sh - p.top);
      const y1 = Math.min(h, i * sh - p.top + fh);
      for (let j = 0; j < ow; j++) {
        const x0 = Math.max(0, j * sw - p.left);
        const x1 = Math.min(w, j * sw - p.left + fw);
        if (y0 >= y1 || x0 >= x1) continue;
        const first = ((b * h + y0) * w + x0) * c;
        for (let k = 0; k < c; k++) {
          best[k] = x[first + k] as number;
          at[k] = first + k;
        }
        for (let y = y0; y < y1; y++) {
          for (let xc = y === y0 ? x0 + 1 : x0; xc < x1; xc++) {
            const base = ((b * h + y) * w + xc) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k] as number;
              if (v > (best[k] as number)) {
                best[k] = v;
                at[k] = base + k;
              }
            }
          }
        }
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          const idx = at[k] as number;
          dx[idx] = (dx[idx] as number) + (dy[dyBase + k] as number);
        }
      }
    }
  }
  return out;
}
