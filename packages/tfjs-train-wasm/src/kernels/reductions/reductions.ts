import { backend_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, input, type WasmKernelArgs } from '../kernel-utils.js';
import { cachedKernel, encodeModule, Locals, op } from '../../wasm/index.js';

const BLOCK = 512;

/** SIMD loop: out[c] += Σ_r x[r, c] for `rows` rows of `cols` floats (cols a multiple of 4). */
function columnSumModule(cols: number): Uint8Array {
  const l = new Locals(3);
  const [X, OUT, ROWS] = l.paramIndices();
  const [xp, o, end] = l.i32s(3);
  const row = op.loop(
    op.get(o),
    op.get(o),
    op.v128Load(0),
    op.get(xp),
    op.v128Load(0),
    op.f32x4Add,
    op.v128Store(0),
    op.get(xp),
    op.i32(16),
    op.add,
    op.set(xp),
    op.get(o),
    op.i32(16),
    op.add,
    op.tee(o),
    op.get(end),
    op.ltS,
    op.brIf(0),
  );
  const body = [
    ...op.get(X),
    ...op.set(xp),
    ...op.get(OUT),
    ...op.i32(cols * 4),
    ...op.add,
    ...op.set(end),
    ...op.loop(op.get(OUT), op.set(o), row, op.get(ROWS), op.i32(1), op.sub, op.tee(ROWS), op.brIf(0)),
  ];
  return encodeModule(l, body);
}

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/**
 * Rows × columns when `axes` are exactly the leading dims (e.g. [0,1,2] of NHWC: BatchNorm's statistics and their
 * gradients), else null. The stock wasm Sum/Mean transpose such input to make the reduced axes innermost first,
 * which costs ~15 ns per element (50 ms for a 64×24×24×96 activation); summing rows in place costs ~1.
 */
function leadingReduction(
  shape: number[],
  axis: number | number[],
): { rows: number; cols: number; axes: number[] } | null {
  const axes = util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length === shape.length) return null;
  if (!axes.every((a, i) => a === i)) return null;
  const rows = util.sizeFromShape(shape.slice(0, axes.length));
  const cols = util.sizeFromShape(shape.slice(axes.length));
  return { rows, cols, axes };
}

function makeReduction(stock: KernelConfig, mean: boolean) {
  return (args: WasmKernelArgs<ReduceAttrs>): TensorInfo => {
    const x = input(args, 'x');
    const plan = x.dtype === 'float32' ? leadingReduction(x.shape, args.attrs.axis) : null;
    if (plan === null) return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const { backend } = args;
    const { rows, cols, axes } = plan;
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = args.attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const out = backend.makeOutput(shape, 'float32');
    const dst = f32(backend, out);
    dst.fill(0);
    if (cols % 4 === 0) {
      // Rows are added in float32 blocks of at most BLOCK rows into float64 totals, bounding rounding error
      // like the cpu backend's JS-number sums while the inner loop stays SIMD.
      const run = cachedKernel(`colsum:${cols}`, backend.wasm.asm.memory, () => columnSumModule(cols));
      const totals = new Float64Array(cols);
      const xOff = backend.getMemoryOffset(x.dataId);
      const outOff = backend.getMemoryOffset(out.dataId);
      for (let r = 0; r < rows; r += BLOCK) {
        dst.fill(0);
        run(xOff + r * cols * 4, outOff, Math.min(BLOCK, rows - r));
        for (let c = 0; c < cols; c++) totals[c] = (totals[c] as number) + (dst[c] as number);
      }
      for (let c = 0; c < cols; c++) dst[c] = mean ? (totals[c] as number) / rows : (totals[c] as number);
      return out;
    }
    const src = f32(backend, x);
    const acc = new Float64Array(cols);
    for (let r = 0, base = 0; r < rows; r++, base += cols) {
      for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (src[base + c] as number);
    }
    if (mean) for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) / rows;
    dst.set(acc);
    return out;
  };
}

export const makeSumWasm = (stock: KernelConfig) => makeReduction(stock, false);
export const makeMeanWasm = (stock: KernelConfig) => makeReduction(stock, true);
