import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../variants/errors.js';

/** The wasm backend's heap limit: wasm32 addresses 4 GiB (tfjs-backend-wasm grows its memory up to that). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;

/** Current size of the wasm backend's heap in bytes, or null when wasm is not the active backend. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap?.buffer.byteLength ?? null;
}

/**
 * True when `err` is a WebAssembly trap (or a RangeError) thrown while the wasm heap is at its 4 GiB limit: the
 * step needed more memory than wasm32 can address. Observed as "memory access out of bounds" or "Aborted()"
 * once growth fails. Retrying cannot help; a smaller batch or input can.
 */
export function isWasmHeapExhausted(err: unknown, heapBytes: number | null = wasmHeapBytes()): boolean {
  if (heapBytes === null || heapBytes < WASM_HEAP_LIMIT_BYTES - 16 * 1024 ** 2) return false;
  const api = (globalThis as unknown as { WebAssembly?: { RuntimeError?: new () => Error } }).WebAssembly;
  return (api?.RuntimeError !== undefined && err instanceof api.RuntimeError) || err instanceof RangeError;
}

/**
 * The error to report for a failure of training or evaluation: a ModelError 'OutOfMemory' that says what to
 * change when the wasm heap ran out (see {@link isWasmHeapExhausted}), else `err` itself.
 */
export function explainOutOfMemory(
  err: unknown,
  context: { model: string; batchSize: number },
  heapBytes: number | null = wasmHeapBytes(),
): unknown {
  if (!isWasmHeapExhausted(err, heapBytes)) return err;
  return new ModelError(
    'OutOfMemory',
    `training ${context.model} at batch size ${context.batchSize} needs more than the wasm backend's 4 GiB heap ` +
      `(wasm32 cannot address more): lower batchSize (e.g. ${Math.max(1, Math.floor(context.batchSize / 2))}), ` +
      `or the model's input size/width, or run on tfjs-node / tfjs-node-gpu`,
    { field: 'batchSize', model: context.model },
    { cause: err },
  );
}
