import type { backend_util } from '@tensorflow/tfjs-core';
import { getKernel, type DataType, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { cachedKernel } from '../wasm/index.js';

/**
 * The slice of tfjs-backend-wasm's `BackendWasm` the supplied kernels use. Declared structurally because
 * kernels receive the backend as `{}` from tfjs-core's registry; the shape matches tfjs-backend-wasm 4.22.
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  refCount(dataId: object): number;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  getMemoryOffset(dataId: object): number;
  wasm: { HEAPF32: Float32Array; asm: { memory: object } };
}

/** What tfjs-core passes to a kernel function, with the backend narrowed to the wasm one. */
export interface WasmKernelArgs<A> {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmBackend;
  attrs: A;
}

export type Pad = backend_util.Conv2DInfo['padInfo'];
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Returns a named input, failing loudly when tfjs passed something unexpected. */
export function input(args: WasmKernelArgs<unknown>, name: string): TensorInfo {
  const t = args.inputs[name];
  if (t === undefined) throw new Error(`wasm kernel: missing input '${name}'`);
  return t;
}

/** Returns the 4 dims of an NHWC-like shape, checking the rank (noUncheckedIndexedAccess makes this explicit). */
export function dims4(shape: readonly number[]): [number, number, number, number] {
  const [a, b, c, d] = shape;
  if (shape.length !== 4 || a === undefined || b === undefined || c === undefined || d === undefined) {
    throw new Error(`wasm kernel: expected a rank-4 shape, got [${shape.join(', ')}]`);
  }
  return [a, b, c, d];
}

/** Byte offset of a tensor's buffer on the wasm heap (what generated kernels take as pointers). */
export function heapOffset(backend: WasmBackend, info: TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}

/** Float32 view of a tensor on the wasm heap. Re-take it after anything that may allocate (the heap can grow). */
export function f32(backend: WasmBackend, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) throw new Error(`wasm kernel: expected float32, got ${info.dtype}`);
  return view;
}

/**
 * Runs other wasm kernels from inside a kernel and frees what they allocate. Kernels receive and return
 * TensorInfo (backend data, not engine tensors), so intermediates are not seen by `tidy`: each one must be
 * released with `backend.disposeData`, which is refcounted (Reshape shares its input's data).
 */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  constructor(readonly backend: WasmBackend) {}

  /** Runs the wasm kernel registered under `name` (or a captured config) and tracks its output. */
  run(kernel: string | KernelConfig, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const config = typeof kernel === 'string' ? getKernel(kernel, 'wasm') : kernel;
    if (config === undefined) throw new Error(`wasm kernel '${String(kernel)}' is not registered`);
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`wasm kernel '${config.kernelName}' returned several outputs`);
    this.owned.push(out);
    return out;
  }

  /** Allocates a tracked float32 output on the heap (zero-filled: the allocator does not clear). */
  zeros(shape: number[]): TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    f32(this.backend, out).fill(0);
    this.owned.push(out);
    return out;
  }

  /** Tracks a buffer allocated elsewhere (e.g. `backend.makeOutput`) so `dispose()` frees it. */
  track(info: TensorInfo): TensorInfo {
    this.owned.push(info);
    return info;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * A filter [kh, kw, …] with both spatial axes reversed (tfjs' Reverse over dims [0, 1]). The spatial axes lead,
   * so this is the kh·kw contiguous blocks in reverse order: block copies, where the stock Reverse kernel computes
   * every element's coordinates (~30 ns per float: 70 ms for a 3×3×512×512 filter, every training step).
   */
  flipSpatial(filter: TensorInfo): TensorInfo {
    const [kh, kw] = filter.shape;
    if (filter.shape.length < 2 || kh === undefined || kw === undefined)
      throw new Error(`wasm kernel: expected a filter [kh, kw, …], got [${filter.shape.join(', ')}]`);
    const out = this.track(this.backend.makeOutput(filter.shape.slice(), 'float32'));
    const from = f32(this.backend, filter);
    const to = f32(this.backend, out);
    const blocks = kh * kw;
    const block = from.length / blocks;
    for (let b = 0; b < blocks; b++) to.set(from.subarray(b * block, (b + 1) * block), (blocks - 1 - b) * block);
    return out;
  }

  /** Zero-pads the spatial axes of an NHWC tensor. */
  padHW(x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
    return this.run('PadV2', { x }, { paddings: explicitPad(top, bottom, left, right), constantValue: 0 });
  }

  /** Hands `info` to the caller: it survives `dispose()`. */
  keep(info: TensorInfo): TensorInfo {
    const i = this.owned.lastIndexOf(info);
    if (i >= 0) this.owned.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const t of this.owned.splice(0)) this.backend.disposeData(t.dataId);
  }
}

/** Runs `body` with a scope whose intermediates are freed whatever happens; the returned info is kept. */
export function withScope(backend: WasmBackend, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}

/** Explicit padding in the form tfjs' conv kernels accept (NHWC). */
export function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * Runs the generated module `encode(shape)` (compiled once per name and shape) with `args`: tensors are passed
 * as their heap byte offsets, numbers as they are.
 */
export function runGenerated<S>(
  backend: WasmBackend,
  name: string,
  shape: S,
  encode: (shape: S) => Uint8Array,
  args: (TensorInfo | number)[],
): void {
  const run = cachedKernel(`${name}:${JSON.stringify(shape)}`, backend.wasm.asm.memory, () => encode(shape));
  run(...args.map((a) => (typeof a === 'number' ? a : heapOffset(backend, a))));
}
