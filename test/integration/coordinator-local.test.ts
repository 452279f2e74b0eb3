/**
 * The coordinator in embedded mode, as `fersweep serve coordinator` runs it with nothing
 * configured: HTTP API → scheduler → local launcher → real `fersweep train` children whose events
 * travel over IPC to the in-process bus → models in the file store. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainerCommand } from '@fersweep/cli';
import { startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';

let dir: string;
let coordinator: Coordinator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-coord-local-'));
  await importDataset({
    source: syntheticSource({ count: 500, seed: 4 }),
    store: openStore(`file://${dir}/data/datasets/tiny`),
    name: 'tiny',
    seed: 1,
    explore: false,
  });
  coordinator = await startCoordinator({
    env: {
      PATH: process.env.PATH ?? '',
      FERSWEEP_STORE: `file://${dir}/data`,
      FERSWEEP_STATE_DIR: join(dir, 'state'),
      FERSWEEP_API_TOKENS: 'tok',
      FERSWEEP_MAX_LOCAL_TRAINERS: '2',
      FERSWEEP_TF_BACKEND: 'wasm',
    },
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ service: 'coordinator', silent: true }),
    trainerCommand: trainerCommand(),
  });
}, 60_000);
afterAll(async () => {
  await coordinator?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('coordinator with the local launcher', () => {
  it('runs a two-variant sweep submitted over HTTP to Succeeded, with models in the store and epoch metrics in its status', async () => {
    const headers = { authorization: 'Bearer tok', 'content-type': 'application/json' };
    const spec = {
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name: 'local-e2e' },
      spec: {
        dataset: `file://${dir}/data/datasets/tiny`,
        epochs: 2,
        batchSize: 32,
        maxTrainImages: 128,
        variants: [
          { name: 'cnn', model: 'cnn', params: { width: 0.125, blocks: 2, denseUnits: 16 } },
          { name: 'mnv2', model: 'mobilenetv2', params: { alpha: 0.35 } },
        ],
        parallelism: 2,
      },
    };
    const res = await fetch(`${coordinator.url}/v1/sweeps`, { method: 'POST', headers, body: JSON.stringify(spec) });
    expect(res.status).toBe(201);
    let sweep = {
      phase: '',
      trials: [] as {
        trial: string;
        phase: string;
        modelUri?: string;
        lastEpoch?: { epoch: number; seconds?: number };
        bestEpoch?: number;
        stoppedEarly?: boolean;
        message?: string;
      }[],
    };
    const deadline = Date.now() + 200_000;
    while (!['Succeeded', 'Failed'].includes(sweep.phase) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      sweep = (await (await fetch(`${coordinator.url}/v1/sweeps/local-e2e`, { headers })).json()) as typeof sweep;
    }
    if (sweep.phase !== 'Succeeded') {
      const logs = await (await fetch(`${coordinator.url}/v1/sweeps/local-e2e/trials/cnn/logs`, { headers })).text();
      throw new Error(`sweep ${sweep.phase}: ${JSON.stringify(sweep.trials)}\n${logs.slice(-2000)}`);
    }
    for (const t of sweep.trials) {
      expect(t.lastEpoch?.epoch).toBe(2);
      // What the CLI's bars need: epoch durations for the ETA, and how the trial ended.
      expect(t.lastEpoch?.seconds).toBeGreaterThan(0);
      expect(t.stoppedEarly).toBe(false);
      expect([1, 2]).toContain(t.bestEpoch);
      expect(t.modelUri).toMatch(new RegExp(`sweeps/local-e2e/trials/${t.trial}/model/$`));
      expect(await openStore(t.modelUri!.replace(/\/$/, '')).head('model.json')).toBeDefined();
    }
  }, 240_000);
});
