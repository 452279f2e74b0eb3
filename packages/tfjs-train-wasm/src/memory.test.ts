import { describe, expect, it } from '@jest/globals';
import { ModelError } from '../variants/errors.js';
import { explainOutOfMemory, isWasmHeapExhausted, WASM_HEAP_LIMIT_BYTES } from './memory.js';
import { encodeModule, instantiate, op, V128 } from './wasm-kernels/wasm-asm.js';

/** A real WebAssembly trap: an out-of-bounds load (memory growth cannot be made to fail in a test). */
function trap(): Error {
  const api = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => object } })
    .WebAssembly;
  const run = instantiate(
    encodeModule(0, [[1, V128]], [...op.i32(-16), ...op.v128Load(0), ...op.set(0)]),
    new api.Memory({ initial: 1 }),
  );
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a trap');
}

describe('wasm heap exhaustion', () => {
  it('is a WebAssembly trap (or RangeError) with the heap at its 4 GiB limit', () => {
    const err = trap();
    expect(err.name).toBe('RuntimeError');
    expect(isWasmHeapExhausted(err, WASM_HEAP_LIMIT_BYTES)).toBe(true);
    expect(isWasmHeapExhausted(new RangeError('Array buffer allocation failed'), WASM_HEAP_LIMIT_BYTES)).toBe(true);
    // Not at the limit: a trap is a bug, not memory; not a trap: some other failure.
    expect(isWasmHeapExhausted(err, 1024 ** 3)).toBe(false);
    expect(isWasmHeapExhausted(new Error('boom'), WASM_HEAP_LIMIT_BYTES)).toBe(false);
    // Not on wasm.
    expect(isWasmHeapExhausted(err, null)).toBe(false);
  });

  it('is explained as ModelError OutOfMemory naming batchSize and what to do', () => {
    const cause = trap();
    const err = explainOutOfMemory(cause, { model: 'mobilenetv2', batchSize: 64 }, WASM_HEAP_LIMIT_BYTES);
    expect(err).toBeInstanceOf(ModelError);
    const e = err as ModelError;
    expect(e.code).toBe('OutOfMemory');
    expect(e.where).toEqual({ field: 'batchSize', model: 'mobilenetv2' });
    expect(e.message).toMatch(/4 GiB heap.*lower batchSize \(e\.g\. 32\).*tfjs-node/);
    expect(e.cause).toBe(cause);
    const other = new Error('boom');
    expect(explainOutOfMemory(other, { model: 'cnn', batchSize: 8 }, WASM_HEAP_LIMIT_BYTES)).toBe(other);
  });
});
