import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { TrialSpec } from '@fersweep/contracts';
import { syntheticSource } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { initTf, type TfRuntime } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { trainerWorkdir } from '../testing/workdir.js';
import { runTrial, type TrialResult } from '../trainer.js';

let dir: string;
let runtime: TfRuntime;
const logger = createLogger({ service: 'trainer', silent: true });

beforeAll(async () => {
  runtime = await initTf({ prefer: 'wasm' });
  dir = await trainerWorkdir('trainer-parallel', syntheticSource({ count: 700, seed: 11 }));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function train(trial: string, threads: number, over: Record<string, number> = {}): Promise<TrialResult> {
  const bus = createMemoryBus();
  try {
    const spec = TrialSpec.parse({
      sweep: 'dp',
      trial,
      variant: 'cnn-tiny',
      model: 'cnn',
      params: { width: 0.125, blocks: 2, denseUnits: 32, ...over },
      dataset: `file://${dir}/data`,
      output: `file://${dir}/out`,
      epochs: 3,
      batchSize: 32,
      seed: 5,
      augmentation: { rotationRange: 10, widthShiftRange: 0.1, horizontalFlip: true },
      evaluate: [],
    });
    return await runTrial({ spec, openStore, bus, logger, runtime, threads });
  } finally {
    await bus.close();
  }
}

describe('data-parallel trials', () => {
  it('learn as the single-thread trial does (loss curves within tolerance) and repeat exactly for a seed and thread count (1 too)', async () => {
    const one = await train('one-thread', 1);
    const oneAgain = await train('one-thread-again', 1);
    const two = await train('two-threads', 2);
    const again = await train('two-threads-again', 2);
    const losses = (r: TrialResult) => r.history.map((h) => h.loss);
    // Same seed and thread count: the same dropout masks, shards and reductions, so the same numbers. One
    // thread too: its dropout masks come from the seed, not from the process's Math.random.
    expect(losses(oneAgain)).toEqual(losses(one));
    expect(losses(again)).toEqual(losses(two));
    expect(again.history.map((h) => h.valLoss)).toEqual(two.history.map((h) => h.valLoss));
    // One thread vs two: the same batches and the same full-batch gradient, with per-shard BatchNorm statistics.
    // Without dropout (whose masks differ between 1 and 2 threads, and alone move this 3-epoch run's loss by
    // ±10% from one draw of masks to another), the curves agree closely, not bit for bit.
    const noDropout = { dropout: 0, denseDropout: 0 };
    const oneStill = await train('one-thread-no-dropout', 1, noDropout);
    const twoStill = await train('two-threads-no-dropout', 2, noDropout);
    const [a, b] = [losses(oneStill), losses(twoStill)];
    expect(b).toHaveLength(3);
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!) / a[i]!).toBeLessThan(0.05);
    expect(b[2]!).toBeLessThan(b[0]!); // and it learns
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(twoStill.history[i]!.valAccuracy - oneStill.history[i]!.valAccuracy)).toBeLessThan(0.2);
  }, 300_000);
});
