import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, withScope, type WasmBackend } from '../kernel-utils.js';
import { cachedKernel, encodeModule, Locals, madd, op } from '../../wasm/index.js';

/** Geometry a compiled depthwise-filter loop is specialised for (all in elements of the padded input). */
interface FilterLoopShape {
  kh: number;
  kw: number;
  /** Rows/cols of the (padded) input the loop reads. */
  hp: number;
  wp: number;
  c: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
}

/**
 * Emits, for one layer geometry, a SIMD loop computing out[kh,kw,c] += Σ_{n,oh,ow} x[n,oh·sh+kh,ow·sw+kw,c]·dy[n,oh,ow,c]
 * on a pre-padded input. Four channels per v128; one accumulator per filter tap stays in a register while the
 * loop walks every output position of an image, so each tap costs one load, one mul and one add per 4 MACs.
 * The tap offsets are compile-time immediates, hence one module per geometry (a few per model, cached).
 */
function encode(s: FilterLoopShape): Uint8Array {
  const taps = s.kh * s.kw;
  const cBytes = s.c * 4;
  const l = new Locals(4);
  const [X, DY, OUT, N] = l.paramIndices();
  const [n, cb, oh, ow, xn, dyn, xrow, xp, dyp] = l.i32s(9);
  const d = l.v128();
  const accs = l.v128s(taps);
  const acc = (t: number): number => accs[t] as number;
  const tapOffset = (t: number): number => (Math.floor(t / s.kw) * s.wp + (t % s.kw)) * s.c * 4;
  const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);

  const inner = op.loop(
    op.get(dyp),
    op.v128Load(0),
    op.set(d),
    ...range(taps).map((t) => [
      ...madd([...op.get(xp), ...op.v128Load(tapOffset(t))], op.get(d), op.get(acc(t))),
      ...op.set(acc(t)),
    ]),
    op.get(xp),
    op.i32(s.sw * cBytes),
    op.add,
    op.set(xp),
    op.get(dyp),
    op.i32(cBytes),
    op.add,
    op.set(dyp),
    op.get(ow),
    op.i32(1),
    op.sub,
    op.tee(ow),
    op.brIf(0),
  );
  const rows = op.loop(
    op.get(xrow),
    op.set(xp),
    op.i32(s.ow),
    op.set(ow),
    inner,
    op.get(xrow),
    op.i32(s.sh * s.wp * cBytes),
    op.add,
    op.set(xrow),
    op.get(oh),
    op.i32(1),
    op.add,
    op.tee(oh),
    op.i32(s.oh),
    op.ltS,
    op.brIf(0),
  );
  const channelBlocks = op.loop(
    ...range(taps).map((t) => [...op.v128Zero, ...op.set(acc(t))]),
    op.get(cb),
    op.i32(16),
    op.mul,
    op.tee(xp),
    op.get(xn),
    op.add,
    op.set(xrow),
    op.get(xp),
    op.get(dyn),
    op.add,
    op.set(dyp),
    op.i32(0),
    op.set(oh),
    rows,
    // out[t, cb] += acc[t]
    op.get(cb),
    op.i32(16),
    op.mul,
    op.get(OUT),
    op.add,
    op.set(xp),
    ...range(taps).map((t) => [
      ...op.get(xp),
      ...op.get(xp),
      ...op.v128Load(t * cBytes),
      ...op.get(acc(t)),
      ...op.f32x4Add,
      ...op.v128Store(t * cBytes),
    ]),
    op.get(cb),
    op.i32(1),
    op.add,
    op.tee(cb),
    op.i32(s.c / 4),
    op.ltS,
    op.brIf(0),
  );
  const images = op.loop(
    op.i32(0),
    op.set(cb),
    channelBlocks,
    op.get(xn),
    op.i32(s.hp * s.wp * cBytes),
    op.add,
    op.set(xn),
    op.get(dyn),
    op.i32(s.oh * s.ow * cBytes),
    op.add,
    op.set(dyn),
    op.get(n),
    op.i32(1),
    op.add,
    op.tee(n),
    op.get(N),
    op.ltS,
    op.brIf(0),
  );
  const body = [...op.get(X), ...op.set(xn), ...op.get(DY), ...op.set(dyn), ...images];
  return encodeModule(l, body);
}

/** True when the SIMD loop applies: whole v128 channel blocks. */
export function simdFilterApplies(info: backend_util.Conv2DInfo): boolean {
  return info.inChannels % 4 === 0;
}

/**
 * Depthwise filter gradient with a generated wasm SIMD loop on tfjs' heap. The input is first copied into a
 * zero-bordered buffer covering exactly the rows/cols the windows read, so the loop has no bounds checks;
 * when no padding is needed the input is read in place.
 */
export function depthwiseBackpropFilterSimd(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const hp = (oh - 1) * sh + kh;
  const wp = (ow - 1) * sw + kw;
  const inPlace = p.top === 0 && p.left === 0 && hp <= h && wp === w;
  return withScope(backend, (s) => {
    let src = x;
    if (!inPlace) {
      // Copy the rows/cols the windows read and zero only the border: one pass over x instead of two.
      src = backend.makeOutput([n, hp, wp, c], 'float32');
      s.track(src);
      // Row copies within one view of the heap (copyWithin): a subarray per row was most of a step's garbage.
      const heap = backend.wasm.HEAPF32;
      const from = heapOffset(backend, x) / 4;
      const to = heapOffset(backend, src) / 4;
      const rowsIn = Math.min(h, hp - p.top);
      const colsIn = Math.min(w, wp - p.left);
      const rowLen = wp * c;
      for (let b = 0; b < n; b++) {
        const img = to + b * hp * rowLen;
        heap.fill(0, img, img + p.top * rowLen);
        heap.fill(0, img + (p.top + rowsIn) * rowLen, img + hp * rowLen);
        for (let y = 0; y < rowsIn; y++) {
          const a = from + (b * h + y) * w * c;
          const r = img + (y + p.top) * rowLen;
          heap.fill(0, r, r + p.left * c);
          heap.copyWithin(r + p.left * c, a, a + colsIn * c);
          heap.fill(0, r + (p.left + colsIn) * c, r + rowLen);
        }
      }
    }
    const out = s.zeros([kh, kw, c, 1]);
    const shape: FilterLoopShape = { kh, kw, hp: inPlace ? h : hp, wp, c, oh, ow, sh, sw };
    const run = cachedKernel(`dwfilter:${JSON.stringify(shape)}`, backend.wasm.asm.memory, () => encode(shape));
    run(
      backend.getMemoryOffset(src.dataId),
      backend.getMemoryOffset(dy.dataId),
      backend.getMemoryOffset(out.dataId),
      n,
    );
    return out;
  });
}
