import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { input, type WasmKernelArgs } from './kernel-utils.js';

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
