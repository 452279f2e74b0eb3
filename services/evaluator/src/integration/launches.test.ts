/**
 * Forged and stale trial events on a REAL nats-server with per-component users: a client with the
 * trainers' NATS rights (any trial pod) publishes completions for a trial the coordinator never
 * launched, for an earlier launch, with a guessed nonce and with no launch at all — before the
 * genuine events, so it also tries to take their dedupe ids. The evaluator service (its own NATS
 * user, launch checks on by default) serves exactly the report of the genuine events, stores no
 * trace of the forged ones and no nonce, and counts each rejection by reason.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  COORDINATOR_BUCKET,
  expandTrials,
  keys,
  launchKey,
  SweepSpec,
  type LaunchRecord,
  type SweepId,
  type SweepReport,
  type TrialEvent,
  type TrialLaunch,
} from '@fersweep/contracts';
import {
  busFromEnv,
  connectNatsBus,
  NATS_INBOX,
  natsAuthorizationConfig,
  openNatsKv,
  type Bus,
  type NatsBus,
} from '@fersweep/messaging';
import { createRegistry } from '@fersweep/observability';
import { startNats, type RunningNats } from '@fersweep/testkit';
import { SweepAggregator } from '../aggregator.js';
import { loadConfig } from '../config.js';
import { startEvaluatorService, type EvaluatorService } from '../service.js';
import { buildReport } from '../report/build.js';
import { handBuiltSweep, sweepSpec } from '../testing/fixtures.js';
import { eventually, memoryLogger, tempStore } from '../testing/harness.js';

const pw = () => randomBytes(18).toString('base64url');
const users = {
  coordinator: { user: 'coordinator', password: pw() },
  evaluator: { user: 'evaluator', password: pw() },
  trainer: { user: 'trainer', password: pw() },
};
const SWEEP = 'forged';
const nonce = () => randomBytes(32).toString('base64url');

let nats: RunningNats;
let coordinator: NatsBus;
let trainer: Bus;
let service: EvaluatorService;
const registry = createRegistry({ service: 'evaluator', defaultMetrics: false });
const log = memoryLogger('warn');
let cleanup: () => Promise<void>;
let store: Awaited<ReturnType<typeof tempStore>>['store'];

beforeAll(async () => {
  nats = await startNats({ config: natsAuthorizationConfig(users) });
  coordinator = await connectNatsBus({
    url: nats.url,
    name: 'coordinator',
    user: users.coordinator.user,
    pass: users.coordinator.password,
    inboxPrefix: NATS_INBOX.coordinator,
  });
  // Trainers (and the forger, who has the same NATS rights as any trial pod).
  trainer = await busFromEnv(
    { NATS_URL: nats.url, NATS_USER: users.trainer.user, NATS_PASSWORD: users.trainer.password },
    { kind: 'nats' },
  );
  ({ store, cleanup } = await tempStore());
  await store.put(keys.sweepSpec(SWEEP), JSON.stringify(sweepSpec(SWEEP)));
  const config = loadConfig({
    NATS_URL: nats.url,
    NATS_USER: users.evaluator.user,
    NATS_PASSWORD: users.evaluator.password,
    FERSWEEP_PORT: '0',
    FERSWEEP_HOST: '127.0.0.1',
  });
  service = await startEvaluatorService(config, { store, registry, logger: log.logger });
});

afterAll(async () => {
  await service?.shutdown();
  await trainer?.close();
  await coordinator?.close();
  await nats?.stop();
  await cleanup?.();
});

function reference(): SweepReport {
  const a = new SweepAggregator(SWEEP as SweepId);
  const spec = SweepSpec.parse(sweepSpec(SWEEP));
  a.setPlan(expandTrials(spec), spec.spec.retries);
  for (const e of handBuiltSweep(SWEEP)) a.apply(e);
  return buildReport(a.snapshot());
}

async function rejected(): Promise<Record<string, number>> {
  const values = (await registry.getSingleMetric('fersweep_evaluator_events_rejected_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]));
}

it('drops completions for unknown trials, stale launches, wrong nonces and no launch; the report is the genuine one', async () => {
  // The coordinator's launch records: cnn is on its first launch, mobilenet on its second.
  const kv = await openNatsKv(coordinator.connection, COORDINATOR_BUCKET);
  const current: Record<string, TrialLaunch> = {
    cnn: { seq: 1, nonce: nonce() },
    mobilenet: { seq: 2, nonce: nonce() },
  };
  const previous: TrialLaunch = { seq: 1, nonce: nonce() };
  for (const [trial, launch] of Object.entries(current)) {
    const record: LaunchRecord = { ...launch, launchedAt: new Date().toISOString() };
    await kv.put(launchKey(SWEEP, trial), JSON.stringify(record));
  }

  const genuine = handBuiltSweep(SWEEP);
  const completed = (trial: string) => genuine.find((e) => e.trial === trial && e.type === 'trial.completed')!;
  const evil = (e: TrialEvent, launch?: TrialLaunch, trial: string = e.trial): TrialEvent => {
    const { launch: _drop, ...rest } = { ...e, trial, id: e.id.replace(e.trial, trial), modelUri: 's3://evil/model/' };
    return (launch ? { ...rest, launch } : rest) as TrialEvent;
  };
  const forged = [
    evil(completed('cnn'), { seq: 1, nonce: nonce() }, 'ghost'), // a trial the coordinator never launched
    evil(completed('mobilenet'), previous), // an earlier launch of mobilenet
    evil(completed('cnn'), { seq: 1, nonce: nonce() }), // a guessed nonce
    evil(completed('cnn'), { seq: 7, nonce: nonce() }), // a launch that does not exist yet
    evil(completed('cnn')), // no launch at all
  ];
  for (const e of forged) await trainer.publish(e);
  for (const e of genuine) await trainer.publish({ ...e, launch: current[e.trial]! });

  const reportKey = `${keys.report(SWEEP)}/report.json`;
  const stored = await eventually(
    async () =>
      (await store.head(reportKey))
        ? (JSON.parse((await store.get(reportKey)).toString('utf8')) as SweepReport)
        : undefined,
    'report.json in the store',
  );
  expect(stored).toEqual(reference());
  expect(stored.trials.map((t) => t.trial).sort()).toEqual(['cnn', 'mobilenet']);
  expect(stored.trials.map((t) => t.modelUri)).not.toContain('s3://evil/model/');
  expect(await rejected()).toEqual({ UnknownTrial: 1, StaleLaunch: 1, ForgedLaunch: 2, MissingLaunch: 1 });

  // Nothing of the forger and no nonce in the evaluator's state.
  const files: string[] = [];
  for await (const info of store.list(`sweeps/${SWEEP}/evaluator/`)) files.push(info.key);
  expect(files.some((k) => k.includes('ghost'))).toBe(false);
  for (const k of files) {
    const body = (await store.get(k)).toString('utf8');
    expect(body).not.toContain('evil');
    for (const l of [...Object.values(current), previous]) expect(body).not.toContain(l.nonce);
  }
  const warnings = log.lines().filter((l) => /rejecting trial event/.test(String(l.message)));
  expect(warnings).toHaveLength(5);
  for (const l of [...Object.values(current), previous]) expect(JSON.stringify(log.lines())).not.toContain(l.nonce);
});
