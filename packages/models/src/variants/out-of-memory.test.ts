import { describe, expect, it } from '@jest/globals';
import { WASM_HEAP_LIMIT_BYTES } from '@fersweep/tfjs-train-wasm';
import { wasmTrap } from '@fersweep/tfjs-train-wasm/testing';
import { ModelError } from './errors.js';
import { explainOutOfMemory } from './out-of-memory.js';

describe('wasm heap exhaustion', () => {
  it('is explained as ModelError OutOfMemory naming batchSize and what to do', () => {
    const cause = wasmTrap();
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
