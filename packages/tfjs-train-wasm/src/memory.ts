import * as tf from '@tensorflow/tfjs';

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

/** What was being trained when memory ran out: named in the explanation. */
export interface TrainingContext {
  model: string;
  batchSize: number;
}

/** A training step needed more than the wasm heap can address; `context` says what to shrink. */
export class WasmHeapExhaustedError extends Error {
  override readonly name = 'WasmHeapExhaustedError';
  constructor(
    message: string,
    readonly context: TrainingContext,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message for an exhausted heap: what ran out, and what to change. */
export function wasmHeapExhaustedMessage(context: TrainingContext): string {
  return (
    `training ${context.model} at batch size ${context.batchSize} needs more than the wasm backend's 4 GiB heap ` +
    `(wasm32 cannot address more): lower batchSize (e.g. ${Math.max(1, Math.floor(context.batchSize / 2))}), ` +
    `or the model's input size/width, or run on tfjs-node / tfjs-node-gpu`
  );
}

/**
 * The error to report for a failure of training or evaluation: when the wasm heap ran out (see
 * {@link isWasmHeapExhausted}), `wrap(message, cause)` — by default a {@link WasmHeapExhaustedError} — with a
 * message that says what to change; else `err` itself. Applications pass `wrap` to get their own error type.
 */
export function explainOutOfMemory(
  err: unknown,
  context: TrainingContext,
  heapBytes: number | null = wasmHeapBytes(),
  wrap: (message: string, cause: unknown) => unknown = (message, cause) =>
    new WasmHeapExhaustedError(message, context, { cause }),
): unknown {
  if (!isWasmHeapExhausted(err, heapBytes)) return err;
  return wrap(wasmHeapExhaustedMessage(context), err);
}
