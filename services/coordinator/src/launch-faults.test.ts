/**
 * The scheduler over the local launcher when launching goes wrong: a sweep that once blocked the
 * launcher for good (a spec over the 128 KiB argv limit) and what must happen to the sweeps after it.
 */
import { afterEach, beforeEach, describe, it } from '@jest/globals';
import type { Scheduler } from './scheduler.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';
import { fakeSweep } from './testing/sweeps.js';
import { startTestScheduler, type TestScheduler } from './testing/harness.js';

let running: TestScheduler;
let dir: string;
let scheduler: Scheduler;

beforeEach(async () => {
  running = await startTestScheduler({
    prefix: 'launch',
    killGraceMs: 2000,
    maxTrials: 20,
    models: FAKE_TRAINER_MODELS,
  });
  ({ dir, scheduler } = running);
});
afterEach(() => running.close());

const sweep = (name: string, params: Record<string, unknown>) => fakeSweep(name, dir, [{ name: 'a', params }]);
async function phase(id: string, want: string, ms = 20_000) {
  const end = Date.now() + ms;
  let last: string | undefined;
  while (Date.now() < end) {
    last = (await scheduler.state.getSweep(id))?.phase;
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sweep ${id} is ${last}, not ${want}`);
}

describe('launching through the local launcher', () => {
  it('runs a sweep with 140 KB of params, and the sweeps after it', async () => {
    await scheduler.submit(sweep('large', { blob: 'x'.repeat(140_000) }));
    await phase('large', 'Succeeded');
    await scheduler.submit(sweep('after', {}));
    await phase('after', 'Succeeded');
  });
});
