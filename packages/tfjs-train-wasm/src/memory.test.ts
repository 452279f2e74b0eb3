import { describe, expect, it } from '@jest/globals';
import { explainOutOfMemory, isWasmHeapExhausted, WASM_HEAP_LIMIT_BYTES, WasmHeapExhaustedError } from './memory.js';
import { wasmTrap as trap } from './testing/wasm-trap.js';

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

  it('is explained as WasmHeapExhaustedError (or the caller’s own error) naming batchSize and what to do', () => {
    const cause = trap();
    const err = explainOutOfMemory(cause, { model: 'mobilenetv2', batchSize: 64 }, WASM_HEAP_LIMIT_BYTES);
    expect(err).toBeInstanceOf(WasmHeapExhaustedError);
    const e = err as WasmHeapExhaustedError;
    expect(e.context).toEqual({ model: 'mobilenetv2', batchSize: 64 });
    expect(e.message).toMatch(/4 GiB heap.*lower batchSize \(e\.g\. 32\).*tfjs-node/);
    expect(e.cause).toBe(cause);
    const wrapped = explainOutOfMemory(cause, { model: 'cnn', batchSize: 8 }, WASM_HEAP_LIMIT_BYTES, (m, c) => ({
      m,
      c,
    }));
    expect(wrapped).toEqual({ m: expect.stringMatching(/e\.g\. 4/), c: cause });
    const other = new Error('boom');
    expect(explainOutOfMemory(other, { model: 'cnn', batchSize: 8 }, WASM_HEAP_LIMIT_BYTES)).toBe(other);
  });
});
