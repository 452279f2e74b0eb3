/**
 * The embedded-mode bridge with a real child process: a trainer stand-in forked with an IPC
 * channel publishes through createIpcPublisher (from the built package) into the parent's bus.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS, type TrialEvent } from '@fersweep/contracts';
import { createMemoryBus } from './memory.js';
import { bridgeChildToBus, createIpcPublisher, type IpcEndpoint } from './ipc.js';
import { completedEvent, epochEvent, ids, rejectsWith, startedEvent, take, uniqueSweep } from './test-support.js';
import { MessagingError, type Bus, type PublishResult } from './types.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = join(pkg, 'src', 'fixtures', 'ipc-child.mjs');

/**
 * The child runs dist/: rebuild it when a source is newer than the last build (scripts/test.sh
 * builds before jest, so this is a no-op there; it keeps `jest packages/messaging` honest).
 */
function ensureBuilt(): void {
  const built = join(pkg, 'tsconfig.tsbuildinfo');
  const sources = readdirSync(join(pkg, 'src')).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'test-support.ts',
  );
  const newest = Math.max(...sources.map((f) => statSync(join(pkg, 'src', f)).mtimeMs));
  if (existsSync(join(pkg, 'dist', 'index.js')) && existsSync(built) && statSync(built).mtimeMs >= newest) return;
  const tsc = join(pkg, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-b', pkg], { stdio: 'pipe' });
}

function runChild(bus: Bus, args: string[]): Promise<number | null> {
  const proc = fork(child, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const bridge = bridgeChildToBus(proc, bus);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => {
      bridge.detach();
      void bridge.idle().then(() => resolve(code));
    });
  });
}

describe('IPC bridge', () => {
  beforeAll(() => ensureBuilt(), 60_000);

  it('loses none of the events a child publishes right before it exits', async () => {
    const bus = createMemoryBus();
    const sweep = uniqueSweep();
    const events = [startedEvent(sweep), epochEvent(sweep, 1), completedEvent(sweep)];
    expect(await runChild(bus, ['publish', JSON.stringify(events)])).toBe(0);
    const sub = await bus.consume({ durable: 'ipc', filter: NATS.sweepSubjects(sweep) });
    const got = await take(sub, 3);
    expect(ids(got)).toEqual(events.map((e) => e.id)); // in the order the child sent them
    expect(got.map((d) => d.event)).toEqual(events);
    await bus.close();
  });

  it("rejects the child's publish with the parent bus's error code", async () => {
    const bus = createMemoryBus();
    await bus.close(); // the parent's bus refuses everything now: 'Closed'
    expect(await runChild(bus, ['reject', JSON.stringify([epochEvent(uniqueSweep(), 1)]), 'Closed'])).toBe(0);
  });

  it('says so when there is no IPC channel to publish on', async () => {
    const noChannel: IpcEndpoint = Object.assign(new EventEmitter(), { send: undefined });
    const err = await rejectsWith(
      createIpcPublisher({ endpoint: noChannel }).publish(epochEvent(uniqueSweep(), 1)),
      'Unavailable',
    );
    expect(err.message).toMatch(/no IPC channel/);
  });

  it('validates in the child before sending, and refuses consume', async () => {
    const sent: unknown[] = [];
    const endpoint: IpcEndpoint = Object.assign(new EventEmitter(), {
      connected: true,
      send: (m: unknown) => (sent.push(m), true),
    });
    const publisher = createIpcPublisher({ endpoint });
    await rejectsWith(publisher.publish({ ...epochEvent(uniqueSweep(), 1), epoch: 0 } as TrialEvent), 'InvalidEvent');
    expect(sent).toEqual([]);
    await rejectsWith(publisher.consume({ durable: 'x' }), 'Unsupported');
  });

  it('answers in-process pairs too, and fails a publish the parent never acks within the timeout', async () => {
    const parentSide = new EventEmitter();
    const childSide = new EventEmitter();
    const endpoint: IpcEndpoint = Object.assign(childSide, {
      connected: true,
      send: (m: unknown, cb: (e: Error | null) => void) => (parentSide.emit('message', m), cb(null), true),
    });
    const bus = createMemoryBus();
    const bridge = bridgeChildToBus(
      Object.assign(parentSide, {
        connected: true,
        send: (m: unknown, cb: (e: Error | null) => void) => (childSide.emit('message', m), cb(null), true),
      }),
      bus,
    );
    const publisher = createIpcPublisher({ endpoint, timeoutMs: 200 });
    const ev = epochEvent(uniqueSweep(), 1);
    const first: PublishResult = await publisher.publish(ev);
    expect(first).toEqual({ duplicate: false, seq: 1 });
    expect(await publisher.publish(ev)).toEqual({ duplicate: true, seq: 1 });
    bridge.detach();
    const err = await rejectsWith(publisher.publish(epochEvent(uniqueSweep(), 2)), 'Unavailable');
    expect(err).toBeInstanceOf(MessagingError);
    expect(childSide.listenerCount('message')).toBe(0); // nothing keeps a finished child alive
    await publisher.close();
    await bus.close();
  });
});
