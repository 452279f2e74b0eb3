import { describe, expect, it } from '@jest/globals';
import { classify } from '../errors.js';
import { shardLimit, trainThreads } from './threads.js';

describe('trainThreads', () => {
  it('uses the usable cores on wasm and cpu, capped by FERSWEEP_TRAIN_THREADS', () => {
    expect(trainThreads({}, 'wasm', 8)).toBe(8);
    expect(trainThreads({ FERSWEEP_TRAIN_THREADS: '4' }, 'wasm', 8)).toBe(4);
    expect(trainThreads({ FERSWEEP_TRAIN_THREADS: '16' }, 'cpu', 2)).toBe(2);
    expect(trainThreads({ FERSWEEP_TRAIN_THREADS: '1' }, 'wasm', 8)).toBe(1);
    expect(trainThreads({ FERSWEEP_TRAIN_THREADS: ' ' }, 'wasm', 3)).toBe(3);
  });

  it('leaves tfjs-node/-gpu to their own threading: one replica', () => {
    expect(trainThreads({ FERSWEEP_TRAIN_THREADS: '4' }, 'tensorflow', 8)).toBe(1);
  });

  it('rejects a value that is not a positive integer, naming the variable (exit 42)', () => {
    for (const bad of ['0', '-2', '1.5', 'all']) {
      let caught: unknown;
      try {
        trainThreads({ FERSWEEP_TRAIN_THREADS: bad }, 'wasm', 8);
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).message).toContain(`FERSWEEP_TRAIN_THREADS='${bad}'`);
      expect(classify(caught).exitCode).toBe(42);
    }
  });

  it('keeps at least 8 images per thread (per-shard BatchNorm statistics): batch 64 → ≤ 8 threads, 8 → 1', () => {
    expect([shardLimit(64), shardLimit(32), shardLimit(15), shardLimit(8), shardLimit(1)]).toEqual([8, 4, 1, 1, 1]);
  });
});
