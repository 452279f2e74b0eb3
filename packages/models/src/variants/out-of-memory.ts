import { explainOutOfMemory as explainWasmHeap, wasmHeapBytes, type TrainingContext } from '@fersweep/tfjs-train-wasm';
import { ModelError } from './errors.js';

/**
 * The error to report for a failure of training or evaluation: a ModelError 'OutOfMemory' that says what to
 * change when the wasm heap ran out (the runtime's `isWasmHeapExhausted`), else `err` itself.
 */
export function explainOutOfMemory(
  err: unknown,
  context: TrainingContext,
  heapBytes: number | null = wasmHeapBytes(),
): unknown {
  return explainWasmHeap(
    err,
    context,
    heapBytes,
    (message, cause) => new ModelError('OutOfMemory', message, { field: 'batchSize', model: context.model }, { cause }),
  );
}
