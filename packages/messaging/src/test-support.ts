/**
 * Shared by the messaging tests (never part of the build): bus fixtures on real backing (a
 * nats-server process, the in-process bus), event factories, and delivery helpers.
 */
import { expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventId, TrialCompleted, TrialEpoch, TrialStarted, type TrialEvent } from '@fersweep/contracts';
import { freePort, startNats, type RunningServer } from '@fersweep/testkit';
import { createMemoryBus, createMemoryKv } from './memory.js';
import { connectNatsBus, openNatsKv, type NatsBus, type NatsBusOptions } from './nats.js';
import {
  isMessagingError,
  type Bus,
  type Delivery,
  type KeyValueStore,
  type MessagingErrorCode,
  type Subscription,
} from './types.js';

let counter = 0;
/** A sweep id no other test uses (ids are DNS labels: lowercase, digits, '-'). */
export const uniqueSweep = (): string => `s${process.pid.toString(36)}-${(++counter).toString(36)}`;

const base = (sweep: string, trial: string) => ({
  sweep,
  trial,
  variant: 'cnn',
  attempt: 1,
  time: '2026-01-01T00:00:00.000Z',
});

export function startedEvent(sweep: string, trial = 't1'): TrialEvent {
  return TrialStarted.parse({
    ...base(sweep, trial),
    id: eventId({ sweep, trial, type: 'trial.started' }),
    type: 'trial.started',
    model: 'cnn',
    params: { lr: 0.001 },
    epochs: 3,
    backend: 'cpu',
    device: 'test',
    datasetSha256: 'a'.repeat(64),
    trainImages: 100,
    parameterCount: 1234,
    resumedFromEpoch: 0,
  });
}

export function epochEvent(sweep: string, epoch: number, trial = 't1'): TrialEvent {
  return TrialEpoch.parse({
    ...base(sweep, trial),
    id: eventId({ sweep, trial, type: 'trial.epoch', epoch }),
    type: 'trial.epoch',
    epoch,
    loss: 1 / epoch,
    accuracy: 0.5,
    valLoss: 1.1 / epoch,
    valAccuracy: 0.45,
    learningRate: 0.001,
    imagesPerSecond: 900,
    seconds: 1.5,
  });
}

export function completedEvent(sweep: string, trial = 't1'): TrialEvent {
  return TrialCompleted.parse({
    ...base(sweep, trial),
    id: eventId({ sweep, trial, type: 'trial.completed' }),
    type: 'trial.completed',
    epochs: 3,
    bestEpoch: 2,
    stoppedEarly: false,
    modelUri: `file:///tmp/${sweep}/${trial}/model`,
    seconds: 4.5,
  });
}

export interface BusFixture {
  bus: Bus;
  /** Another bus on the same backing (the same server; a fresh world for the memory bus). */
  openBus(): Promise<Bus>;
  close(): Promise<void>;
}

export async function memoryFixture(): Promise<BusFixture> {
  const buses: Bus[] = [createMemoryBus()];
  return {
    bus: buses[0] as Bus,
    openBus: async () => {
      const bus = createMemoryBus();
      buses.push(bus);
      return bus;
    },
    close: async () => {
      await Promise.all(buses.map((b) => b.close()));
    },
  };
}

/** A bus on a fresh nats-server; tests keep ack_wait and timeouts short. */
export async function natsFixture(
  options: Partial<NatsBusOptions> = {},
): Promise<BusFixture & { nats: RunningServer; bus: NatsBus }> {
  const nats = await startNats();
  const buses: NatsBus[] = [];
  const open = async () => {
    const bus = await connectNatsBus({ url: nats.url, name: 'messaging-test', publishTimeoutMs: 5_000, ...options });
    buses.push(bus);
    return bus;
  };
  try {
    const bus = await open();
    return {
      nats,
      bus,
      openBus: open,
      close: async () => {
        await Promise.all(buses.map((b) => b.close()));
        await nats.stop();
      },
    };
  } catch (err) {
    await nats.stop();
    throw err;
  }
}

export interface KvFixture {
  kv: KeyValueStore;
  close(): Promise<void>;
}

export async function memoryKvFixture(): Promise<KvFixture> {
  return { kv: createMemoryKv('test'), close: async () => undefined };
}

export async function natsKvFixture(): Promise<KvFixture> {
  const f = await natsFixture();
  try {
    return { kv: await openNatsKv(f.bus.connection, 'test'), close: f.close };
  } catch (err) {
    await f.close();
    throw err;
  }
}

const iterators = new WeakMap<Subscription, AsyncIterator<Delivery>>();
/** One iterator per subscription, read with next() so that a test never ends it by accident. */
export function iteratorOf(sub: Subscription): AsyncIterator<Delivery> {
  let it = iterators.get(sub);
  if (!it) iterators.set(sub, (it = sub[Symbol.asyncIterator]()));
  return it;
}

/** The next `count` deliveries; fails (rather than hangs) when they do not come within `timeoutMs`. */
export async function take(sub: Subscription, count: number, timeoutMs = 10_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const it = iteratorOf(sub);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`expected ${count} deliveries on '${sub.durable}', got ${out.length} in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    while (out.length < count) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`subscription '${sub.durable}' ended after ${out.length} of ${count} deliveries`);
      out.push(r.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Takes one delivery and acks it, returning it. */
export async function takeAck(sub: Subscription): Promise<Delivery> {
  const [d] = await take(sub, 1);
  if (!d) throw new Error('no delivery');
  await d.ack();
  return d;
}

export const ids = (ds: Delivery[]): string[] => ds.map((d) => d.id);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Asserts that `p` rejects with a MessagingError of this code, returning it. */
export async function rejectsWith(p: Promise<unknown>, code: MessagingErrorCode) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isMessagingError(err) ? err.code : err).toBe(code);
  if (!isMessagingError(err)) throw new Error('unreachable');
  return err;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * A nats-server that can be stopped and started again on the same port with the same store
 * (testkit's startNats picks a fresh port each time, and a reconnect test needs the same
 * address), optionally with extra flags such as `--user`/`--pass`.
 */
export async function restartableNats(extraArgs: string[] = []): Promise<{
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fersweep-nats-restart-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...extraArgs], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 200 && !(await portOpen(port)); i++) await sleep(25);
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
