import {
  backend_util,
  util,
  type CastAttrs,
  type ConcatAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { input, type WasmKernelArgs } from '../kernel-utils.js';

/**
 * Identity that shares its input's buffer (refcounted, like wasm's own Reshape and the cpu backend's Identity).
 * The stock wasm kernel copies, and tfjs-core clones every tensor a gradient saves through Identity: ~8–10% of a
 * MobileNetV2 training step went to those copies. Buffers are never written after their kernel returns, so
 * sharing is safe.
 */
export function makeIdentityWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<unknown>): TensorInfo => {
    const x = input(args, 'x');
    if (x.dtype === 'string') return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/**
 * Cast to the input's own dtype (tf.moments casts its float32 input to float32) shares instead of copying. Cast to
 * bool tests x ≠ 0: the stock kernel truncates into a Uint8Array (−2 became 254, 0.5 became 0).
 */
export function makeCastWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<CastAttrs>): TensorInfo => {
    const x = input(args, 'x');
    if (args.attrs.dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      const out = args.backend.makeOutput(x.shape.slice(), 'bool');
      const src = args.backend.typedArrayFromHeap(x);
      const dst = args.backend.typedArrayFromHeap(out);
      for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
    if (x.dtype !== args.attrs.dtype || x.dtype === 'string' || x.dtype === 'complex64') {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/**
 * Concat of float32/int32 tensors as heap copies. The stock kernel issues one `subarray`+`set` per input per
 * outer index, which for MobileNetV2's gray→RGB concat (inner size 1) is ~60 ns per element: 25–30 ms a step.
 * Narrow inner blocks are copied element by element here.
 */
/**
 * dst[b·total + at + k] = src[b·len + k]: narrow blocks of a float32 concat. Its own function so that the element
 * accesses stay monomorphic (Float32Array only): through the union-typed views of the caller the same loop ran at
 * ~30 ns per element.
 */
function copyNarrowF32(
  dst: Float32Array,
  src: Float32Array,
  outer: number,
  len: number,
  at: number,
  total: number,
): void {
  if (len === 1) {
    for (let b = 0, o = at; b < outer; b++, o += total) dst[o] = src[b] as number;
    return;
  }
  for (let b = 0, s = 0, o = at; b < outer; b++, o += total)
    for (let k = 0; k < len; k++) dst[o + k] = src[s++] as number;
}

export function makeConcatWasm(stock: KernelConfig) {
  return (args: WasmKernelArgs<ConcatAttrs>): TensorInfo => {
    const inputs = Object.values(args.inputs).filter((t): t is TensorInfo => t !== undefined);
    const first = inputs[0];
    const dtype = first?.dtype;
    if (first === undefined || (dtype !== 'float32' && dtype !== 'int32') || inputs.some((t) => t.dtype !== dtype)) {
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const axis = util.parseAxisParam(args.attrs.axis, first.shape)[0] ?? 0;
    backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      axis,
    );
    const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (parts.length <= 1) return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const { backend } = args;
    const outShape = backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      axis,
    );
    const out = backend.makeOutput(outShape, dtype);
    const dst = backend.typedArrayFromHeap(out);
    const outer = util.sizeFromShape(first.shape.slice(0, axis));
    const inner = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const total = inner.reduce((a, b) => a + b, 0);
    parts.forEach((t, i) => {
      const src = backend.typedArrayFromHeap(t);
      const len = inner[i] as number;
      let at = inner.slice(0, i).reduce((a, b) => a + b, 0);
      if (len >= 16) {
        for (let b = 0, s = 0; b < outer; b++, s += len, at += total) dst.set(src.subarray(s, s + len), at);
      } else if (dst instanceof Float32Array && src instanceof Float32Array) {
        copyNarrowF32(dst, src, outer, len, at, total);
      } else {
        for (let b = 0, s = 0; b < outer; b++, at += total)
          for (let k = 0; k < len; k++) dst[at + k] = src[s++] as number;
      }
    });
    return out;
  };
}
