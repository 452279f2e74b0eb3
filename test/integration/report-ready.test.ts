/**
 * Issue 11 part 5: once GET /v1/sweeps/{id} says a sweep ended, GET /v1/sweeps/{id}/report is its
 * final report — in distributed mode (real nats-server, real S3 server, evaluator, coordinator), where
 * the coordinator learns that a trial ended (from its launcher) before the evaluator has applied the
 * trial's last events. The test holds those events back (a trainer's `trial.completed` still in the
 * stream) and publishes them a few seconds after the sweep ended: the landed tree answered at once, with
 * the live report still Running (or 404 without an evaluator URL). The trainers are the coordinator
 * tests' stand-in (`fake-trainer.mjs`); the trial events are the evaluator's hand-built sweep.
 * Issue 12 item 4: both services run with the same FERSWEEP_API_TOKENS, so every live report and
 * finalize the coordinator asks the evaluator for carries its token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SweepReport, type TrialEvent } from '@fersweep/contracts';
import { createApp, LocalLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { loadConfig, startEvaluatorService, type EvaluatorService } from '@fersweep/evaluator';
import { connectNatsBus, type NatsBus } from '@fersweep/messaging';
import { createLogger, createRegistry } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { startNats, startS3, type RunningS3, type RunningServer } from '@fersweep/testkit';
import { FAKE_TRAINER_MODELS, FAKE_TRAINER_PATH } from '@fersweep/coordinator/testing';
import { handBuiltSweep } from '@fersweep/evaluator/testing';

const FAKE_TRAINER = FAKE_TRAINER_PATH;
/** How long the trainers' last events stay unpublished after the coordinator saw the sweep end. */
const EVENT_DELAY_MS = 3000;
const logger = createLogger({ service: 'test', silent: true });
const TOKEN = 'report-ready-token-6f1c2b';
/** Sent on every request to a coordinator API (the store-only one has no tokens and ignores it). */
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let nats: RunningServer;
let s3: RunningS3;
let evaluator: EvaluatorService;
let coordinator: Coordinator;
let publisher: NatsBus;
/** The same coordinator state and store behind an API with no evaluator URL (stored reports only). */
let storeOnly: { server: Server; url: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-report-ready-'));
  [nats, s3] = await Promise.all([startNats(), startS3()]);
  Object.assign(process.env, s3.env);
  await s3.createBucket('fersweep');
  const env = { ...s3.env, NATS_URL: nats.url, FERSWEEP_STORE: 's3://fersweep', FERSWEEP_API_TOKENS: TOKEN };
  evaluator = await startEvaluatorService(
    loadConfig({ ...env, FERSWEEP_PORT: '0', FERSWEEP_HOST: '127.0.0.1', FERSWEEP_VERIFY_LAUNCHES: 'false' }),
    {
      logger,
    },
  );
  coordinator = await startCoordinator({
    env: { ...env, PATH: process.env.PATH ?? '', FERSWEEP_EVALUATOR_URL: `http://127.0.0.1:${evaluator.port}` },
    port: 0,
    host: '127.0.0.1',
    logger,
    launcher: new LocalLauncher({ command: [process.execPath, FAKE_TRAINER], maxConcurrent: 4, logger }),
    models: FAKE_TRAINER_MODELS,
  });
  const app = createApp({
    scheduler: coordinator.scheduler,
    store: openStore('s3://fersweep'),
    logger,
    registry: createRegistry({ service: 'coordinator', defaultMetrics: false }),
    tokens: [],
    ready: () => true,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = server.address();
  storeOnly = { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
  publisher = await connectNatsBus({ url: nats.url, name: 'trainers' });
}, 120_000);

afterAll(async () => {
  await new Promise((r) => storeOnly?.server.close(r));
  await publisher?.close();
  await coordinator?.stop();
  await evaluator?.shutdown();
  await Promise.all([nats?.stop(), s3?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/**
 * Submits a sweep of the hand-built trials (cnn, mobilenet) whose stand-in trainers exit after `sleepMs`
 * (mobilenet with `mobilenetExit` when given).
 */
async function submit(api: string, name: string, sleepMs: number, mobilenetExit?: number): Promise<void> {
  const res = await fetch(`${api}/v1/sweeps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name },
      spec: {
        dataset: 's3://fersweep/datasets/none',
        epochs: 3,
        variants: [
          { name: 'cnn', model: 'cnn', params: { stateDir: dir, sleepMs } },
          {
            name: 'mobilenet',
            model: 'mobilenetv2',
            params: { stateDir: dir, sleepMs, ...(mobilenetExit ? { exitCodes: [mobilenetExit] } : {}) },
          },
        ],
        retries: 0,
      },
    }),
  });
  expect(res.status).toBe(201);
}

async function phaseOf(api: string, name: string): Promise<string> {
  return ((await (await fetch(`${api}/v1/sweeps/${name}`, { headers: auth })).json()) as { phase: string }).phase;
}

/** The sweep view's `report`: where the report is and whether the final one is there. */
async function reportStatus(api: string, name: string): Promise<unknown> {
  return ((await (await fetch(`${api}/v1/sweeps/${name}`, { headers: auth })).json()) as { report: unknown }).report;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Publishes every event of the hand-built sweep but the trials' last ones (`trial.completed`); returns
 * what publishes those, `EVENT_DELAY_MS` after it is called.
 */
async function publishAllButLastEvents(name: string): Promise<() => Promise<void>> {
  const events = handBuiltSweep(name);
  const isLast = (e: TrialEvent) => e.type === 'trial.completed';
  for (const e of events.filter((e) => !isLast(e))) await publisher.publish(e);
  return async () => {
    await new Promise((r) => setTimeout(r, EVENT_DELAY_MS));
    for (const e of events.filter(isLast)) await publisher.publish(e);
  };
}

async function finalReport(res: Response): Promise<SweepReport> {
  expect(res.status).toBe(200);
  return SweepReport.parse(await res.json());
}

describe('the report of a sweep that says it ended', () => {
  it.each([
    ['from the evaluator', () => coordinator.url],
    ['from the store (no evaluator URL)', () => storeOnly.url],
  ])(
    'is the final report %s, even when the evaluator has not yet applied the last events',
    async (_how, api) => {
      const name = api() === coordinator.url ? 'race-live' : 'race-stored';
      await submit(api(), name, 50);
      const publishLastEvents = await publishAllButLastEvents(name);
      await until(`${name} to succeed`, async () => (await phaseOf(api(), name)) === 'Succeeded');
      const late = publishLastEvents(); // the evaluator gets them only after the sweep has ended
      expect(await reportStatus(api(), name)).toEqual({ url: `/v1/sweeps/${name}/report`, ready: false });

      const report = await finalReport(await fetch(`${api()}/v1/sweeps/${name}/report`, { headers: auth }));
      if (api() === coordinator.url) {
        // The coordinator got it through the evaluator, which refuses the same request without the token.
        const evaluatorUrl = `http://127.0.0.1:${evaluator.port}/v1/sweeps/${name}`;
        for (const [method, path] of [
          ['GET', '/report'],
          ['POST', '/finalize'],
        ] as const) {
          const refused = await fetch(`${evaluatorUrl}${path}`, { method });
          expect([path, refused.status, ((await refused.json()) as { code?: string }).code]).toEqual([
            path,
            401,
            'Unauthorized',
          ]);
          expect((await fetch(`${evaluatorUrl}${path}`, { method, headers: auth })).status).toBe(200);
        }
      }
      expect(report.phase).toBe('Succeeded');
      expect(report.trials.map((t) => [t.trial, t.phase])).toEqual([
        ['cnn', 'Succeeded'],
        ['mobilenet', 'Succeeded'],
      ]);
      expect(report.comparison.ranking).toEqual(['cnn', 'mobilenet']);
      expect(await reportStatus(api(), name)).toEqual({ url: `/v1/sweeps/${name}/report`, ready: true });
      await late;
    },
    60_000,
  );

  it('with a trial killed before it could say so is finalized through the evaluator after a short grace', async () => {
    await submit(coordinator.url, 'race-killed', 50, 137);
    for (const e of handBuiltSweep('race-killed').filter((e) => e.trial === 'cnn')) await publisher.publish(e);
    await until('race-killed to end', async () =>
      ['Succeeded', 'Failed'].includes(await phaseOf(coordinator.url, 'race-killed')),
    );
    const report = await finalReport(await fetch(`${coordinator.url}/v1/sweeps/race-killed/report`, { headers: auth }));
    expect(report.phase).toBe('Succeeded');
    expect(report.trials.map((t) => [t.trial, t.phase])).toEqual([
      ['cnn', 'Succeeded'],
      ['mobilenet', 'Pending'],
    ]);
  }, 60_000);

  it('of a cancelled sweep is final at once: the coordinator finalizes it through the evaluator', async () => {
    await submit(coordinator.url, 'race-cancelled', 60_000);
    for (const e of handBuiltSweep('race-cancelled').slice(0, 3)) await publisher.publish(e);
    const cancelled = await fetch(`${coordinator.url}/v1/sweeps/race-cancelled`, { method: 'DELETE', headers: auth });
    expect(cancelled.status).toBe(200);
    const report = await finalReport(
      await fetch(`${coordinator.url}/v1/sweeps/race-cancelled/report`, { headers: auth }),
    );
    expect(report.phase).toBe('Failed'); // no trial succeeded: there is no comparison to make
  }, 60_000);
});
