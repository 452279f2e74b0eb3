/**
 * Least privilege on a REAL nats-server configured with `natsAuthorizationConfig`: each component
 * connects as its own user; the trainer can publish its events and nothing else, and can read
 * nothing; the coordinator and the evaluator do their whole job under theirs.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { COORDINATOR_BUCKET, NATS, type TrialEvent } from '@fersweep/contracts';
import { startNats, type RunningNats } from '@fersweep/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busFromEnv } from './connect.js';
import { connectNatsBus, openNatsKv, type NatsBus } from './nats.js';
import { NATS_INBOX, natsAuthorizationConfig, type NatsComponent } from './permissions.js';
import { completedEvent, epochEvent, startedEvent, uniqueSweep } from './test-support.js';
import { isMessagingError, type Bus, type KeyValueStore } from './types.js';

const users = {
  coordinator: { user: 'fersweep-coordinator', password: randomBytes(18).toString('base64url') },
  evaluator: { user: 'fersweep-evaluator', password: randomBytes(18).toString('base64url') },
  trainer: { user: 'fersweep-trainer', password: randomBytes(18).toString('base64url') },
};

let nats: RunningNats;
let coordinator: NatsBus;
let evaluator: NatsBus;
let trainer: Bus;
const raw: NatsConnection[] = [];

const as = (c: NatsComponent) =>
  connectNatsBus({
    url: nats.url,
    name: c,
    user: users[c].user,
    pass: users[c].password,
    inboxPrefix: NATS_INBOX[c],
    publishTimeoutMs: 3_000,
    timeoutMs: 3_000,
  });

/** A plain nats.js connection as the trainer, as hostile trial code would open one. */
async function rawTrainer(): Promise<NatsConnection> {
  const nc = await connect({
    servers: nats.url,
    user: users.trainer.user,
    pass: users.trainer.password,
    inboxPrefix: NATS_INBOX.trainer,
  });
  raw.push(nc);
  return nc;
}

/** `p`, or undefined after `ms`; the timer is always cleared. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the error the server closed a subscription with (undefined: it stayed open). */
async function subscribeRefused(nc: NatsConnection, subject: string): Promise<string | undefined> {
  const sub = nc.subscribe(subject);
  const closed = await within(
    sub.closed.then((e) => (e ? String(e) : 'closed')),
    1_500,
  );
  if (!closed) sub.unsubscribe();
  return closed;
}

async function drain(bus: NatsBus, durable: string, filter: string, n: number): Promise<TrialEvent[]> {
  const got: TrialEvent[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.consume({
    durable,
    filter,
    handler: (d) => {
      if (d.event) got.push(d.event);
      if (got.length >= n) done();
    },
  });
  await within(all, 10_000);
  await sub.stop();
  return got;
}

beforeAll(async () => {
  nats = await startNats({ config: natsAuthorizationConfig(users) });
  coordinator = await as('coordinator');
  evaluator = await as('evaluator');
  trainer = await busFromEnv(
    { NATS_URL: nats.url, NATS_USER: users.trainer.user, NATS_PASSWORD: users.trainer.password },
    { kind: 'nats' },
    undefined,
    { name: 'trainer-t1', nats: { publishTimeoutMs: 3_000, timeoutMs: 3_000 } },
  );
});

afterAll(async () => {
  await Promise.all(raw.map((nc) => nc.close()));
  await trainer?.close();
  await evaluator?.close();
  await coordinator?.close();
  await nats?.stop();
});

test('without credentials, or with a wrong password, nothing connects', async () => {
  await expect(connectNatsBus({ url: nats.url, name: 'anon', timeoutMs: 2_000 })).rejects.toMatchObject({
    code: 'Unavailable',
  });
  await expect(
    connectNatsBus({ url: nats.url, name: 'x', user: users.trainer.user, pass: 'wrong', timeoutMs: 2_000 }),
  ).rejects.toMatchObject({ code: 'Unavailable' });
});

test('the trainer publishes its events; coordinator and evaluator consume them under their own users', async () => {
  const sweep = uniqueSweep();
  for (const e of [startedEvent(sweep), epochEvent(sweep, 1), completedEvent(sweep)]) await trainer.publish(e);
  const filter = NATS.sweepSubjects(sweep);
  const seenByEvaluator = await drain(evaluator, 'fersweep-evaluator', filter, 3);
  expect(seenByEvaluator.map((e) => e.type)).toEqual(['trial.started', 'trial.epoch', 'trial.completed']);
  const seenByCoordinator = await drain(coordinator, 'fersweep-coordinator', filter, 3);
  expect(seenByCoordinator).toHaveLength(3);
});

test('the trainer cannot publish a coordinator event, anything outside the trial events, or KV writes', async () => {
  const sweep = uniqueSweep();
  const stopped: TrialEvent = {
    id: `${sweep}.t1.trial.stopped`,
    type: 'trial.stopped',
    sweep,
    trial: 't1',
    variant: 'cnn',
    attempt: 1,
    time: new Date().toISOString(),
    epoch: 1,
    reason: 'forged',
  } as TrialEvent;
  const err = await trainer.publish(stopped).catch((e: unknown) => e);
  expect(isMessagingError(err, 'PermissionDenied')).toBe(true);

  const nc = await rawTrainer();
  const js = jetstream(nc, { timeout: 2_000 });
  for (const subject of [
    `$KV.${COORDINATOR_BUCKET}.launches.${sweep}.t1`,
    `$JS.API.STREAM.PURGE.${NATS.trialStream}`,
    `$JS.API.STREAM.DELETE.${NATS.trialStream}`,
    `$JS.API.CONSUMER.CREATE.${NATS.trialStream}`,
    'fersweep.other',
  ])
    await expect(js.publish(subject, new Uint8Array([123, 125]))).rejects.toThrow(/Permissions Violation for Publish/);
});

test('the trainer can read nothing: no subscription outside its inbox, no stream, no KV', async () => {
  const nc = await rawTrainer();
  for (const subject of [
    'fersweep.trials.>',
    '>',
    '_INBOX.>',
    `${NATS_INBOX.evaluator}.>`,
    `${NATS_INBOX.coordinator}.>`,
    '$KV.>',
  ])
    expect(await subscribeRefused(nc, subject)).toMatch(/Permissions Violation for Subscription/);
  const jsm = await jetstreamManager(await rawTrainer(), { timeout: 2_000, checkAPI: false });
  await expect(jsm.streams.info(NATS.trialStream)).rejects.toThrow(/Permissions Violation/);
  await expect(jsm.streams.list().next()).rejects.toThrow(/Permissions Violation/);
  await expect(jsm.consumers.info(NATS.trialStream, 'fersweep-evaluator')).rejects.toThrow(/Permissions Violation/);
  const kv = await openNatsKv(await rawTrainer(), COORDINATOR_BUCKET, { readOnly: true });
  await expect(kv.get('launches.s.t1')).rejects.toMatchObject({ code: 'PermissionDenied' });
  // Its own bus cannot consume either.
  await expect(trainer.consume({ durable: 'sneaky' })).rejects.toMatchObject({ code: 'Unsupported' });
});

describe('coordinator state and evaluator reads', () => {
  let state: KeyValueStore;
  beforeAll(async () => {
    state = await openNatsKv(coordinator.connection, COORDINATOR_BUCKET);
  });

  test('the coordinator uses its KV bucket fully and publishes trial.stopped', async () => {
    const sweep = uniqueSweep();
    await state.create(`sweeps.${sweep}`, '{"v":1}');
    const rev = await state.put(`trials.${sweep}.t1`, '{"v":1}');
    await state.update(`trials.${sweep}.t1`, '{"v":2}', rev);
    await state.put(`launches.${sweep}.t1`, '{"seq":1}');
    const keys: string[] = [];
    for await (const k of state.keys(`trials.${sweep}.`)) keys.push(k);
    expect(keys).toEqual([`trials.${sweep}.t1`]);
    const watch = await state.watch({ key: `sweeps.${sweep}` });
    const first = await watch[Symbol.asyncIterator]().next();
    expect(first.value?.key).toBe(`sweeps.${sweep}`);
    watch.stop();
    await state.delete(`trials.${sweep}.t1`);
    expect(await state.get(`trials.${sweep}.t1`)).toBeUndefined();
    const stop = await coordinator.publish({
      id: `${sweep}.t1.trial.stopped`,
      type: 'trial.stopped',
      sweep,
      trial: 't1',
      variant: 'cnn',
      attempt: 1,
      time: new Date().toISOString(),
      epoch: 1,
      reason: 'ASHA',
    } as TrialEvent);
    expect(stop.duplicate).toBe(false);
  });

  test("the coordinator purges a sweep's events from the stream; the others cannot", async () => {
    const sweep = uniqueSweep();
    for (const e of [startedEvent(sweep), epochEvent(sweep, 1)]) await trainer.publish(e);
    await expect(evaluator.purgeSweep(sweep)).rejects.toMatchObject({ code: 'PermissionDenied' });
    expect(await coordinator.purgeSweep(sweep)).toBe(2);
  });

  test('the evaluator reads launch records only, and publishes nothing', async () => {
    const sweep = uniqueSweep();
    await state.put(`launches.${sweep}.t1`, '{"seq":3}');
    await state.put(`sweeps.${sweep}`, '{"secret":true}');
    const kv = await openNatsKv(evaluator.connection, COORDINATOR_BUCKET, { readOnly: true });
    expect(Buffer.from((await kv.get(`launches.${sweep}.t1`))!.value).toString()).toBe('{"seq":3}');
    await expect(kv.get(`sweeps.${sweep}`)).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(kv.put(`launches.${sweep}.t1`, '{"seq":9}')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(evaluator.publish(completedEvent(sweep))).rejects.toMatchObject({ code: 'PermissionDenied' });
  });
});
