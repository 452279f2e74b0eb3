/**
 * The scheduler over the local launcher when launching goes wrong: a sweep that once blocked the
 * launcher for good (a spec over the 128 KiB argv limit) and what must happen to the sweeps after it.
 */
import { afterEach, beforeEach, describe, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryKv } from '@fersweep/messaging';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { LocalLauncher } from './launchers/local.js';
import { Scheduler } from './scheduler.js';
import { SweepState } from './state.js';
import { FAKE_TRAINER_MODELS } from './testing/fake-trainer-models.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let scheduler: Scheduler;
let launcher: LocalLauncher;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-launch-'));
  launcher = new LocalLauncher({ command: [process.execPath, FAKE], maxConcurrent: 1, logger, killGraceMs: 2000 });
  scheduler = new Scheduler({
    state: new SweepState(createMemoryKv()),
    launcher,
    store: openStore(`file://${dir}/store`),
    logger,
    maxTrials: 20,
    models: FAKE_TRAINER_MODELS,
  });
  await scheduler.start();
});
afterEach(async () => {
  await scheduler.stop();
  await launcher.close();
  await rm(dir, { recursive: true, force: true });
});

const sweep = (name: string, params: Record<string, unknown>) => ({
  apiVersion: 'fersweep/v1',
  kind: 'Sweep',
  metadata: { name },
  spec: {
    dataset: 'file:///nowhere',
    epochs: 1,
    variants: [{ name: 'a', model: 'cnn', params: { stateDir: dir, ...params } }],
  },
});
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
