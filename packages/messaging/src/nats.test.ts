/**
 * What only the NATS bus has: a real server's stream, raw messages from other clients, a server
 * that goes away or restarts, credentials in URLs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { NATS } from '@fersweep/contracts';
import { freePort, startNats } from '@fersweep/testkit';
import { connectNatsBus, type NatsBus } from './nats.js';
import {
  completedEvent,
  epochEvent,
  ids,
  natsFixture,
  rejectsWith,
  restartableNats,
  take,
  takeAck,
  uniqueSweep,
} from './test-support.js';

describe('NATS bus', () => {
  let fixture: Awaited<ReturnType<typeof natsFixture>> | undefined;
  let bus: NatsBus;

  beforeAll(async () => {
    fixture = await natsFixture();
    bus = fixture.bus;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('creates the trial stream on file storage with a duplicate window, and reuses it', async () => {
    const jsm = await jetstreamManager(bus.connection);
    const info = await jsm.streams.info(NATS.trialStream);
    expect(info.config.subjects).toEqual([NATS.trialSubjects]);
    expect(info.config.storage).toBe(StorageType.File);
    expect(info.config.duplicate_window).toBe(120e9);
    const again = await fixture?.openBus(); // a second process: the existing stream is kept
    expect((await jsm.streams.info(NATS.trialStream)).state.first_seq).toBe(info.state.first_seq);
    await again?.close();
  });

  it('hands a message from another client that is not a valid event to the consumer with an error', async () => {
    const sweep = uniqueSweep();
    const subject = NATS.trialSubject(sweep, 't1', 'trial.epoch');
    bus.connection.publish(subject, 'not json');
    bus.connection.publish(subject, JSON.stringify({ id: 'half-an-event', type: 'trial.epoch' }));
    await bus.connection.flush();
    await bus.publish(completedEvent(sweep));
    const sub = await bus.consume({ durable: 'raw', filter: NATS.sweepSubjects(sweep) });
    const [notJson, offContract, valid] = await take(sub, 3);
    expect(notJson?.event).toBeUndefined();
    expect(notJson?.error?.code).toBe('InvalidEvent');
    expect(notJson?.error?.message).toMatch(/not UTF-8 JSON/);
    expect(notJson?.id).toBe(`seq:${notJson?.seq}`);
    expect(new TextDecoder().decode(notJson?.raw)).toBe('not json');
    expect(offContract?.event).toBeUndefined();
    expect(offContract?.error?.code).toBe('InvalidEvent');
    expect(offContract?.id).toBe('half-an-event');
    expect(valid?.event).toEqual(completedEvent(sweep));
    for (const d of [notJson, offContract, valid]) await d?.ack();
    expect(await sub.pending()).toBe(0);
    await sub.stop();
  });

  it('fails to connect with Unavailable, naming the server without its credentials', async () => {
    const port = await freePort();
    const err = await rejectsWith(
      connectNatsBus({ url: `nats://fersweep:s3cret@127.0.0.1:${port}`, name: 'test', timeoutMs: 1_000 }),
      'Unavailable',
    );
    expect(err.message).toContain(`nats://127.0.0.1:${port}`);
    expect(err.message).not.toContain('s3cret');
    expect(err.url).toBe(`nats://127.0.0.1:${port}`);
  });

  it('takes credentials from the URL, and never repeats them in errors', async () => {
    const server = await restartableNats(['--user', 'fersweep', '--pass', 's3cret']);
    try {
      const url = server.url.replace('nats://', 'nats://fersweep:s3cret@');
      const authed = await connectNatsBus({ url, name: 'test' });
      expect(authed.url).toBe(server.url);
      expect((await authed.publish(epochEvent(uniqueSweep(), 1))).duplicate).toBe(false);
      await authed.close();
      const wrong = server.url.replace('nats://', 'nats://fersweep:wr0ng@');
      const err = await rejectsWith(connectNatsBus({ url: wrong, name: 'test', timeoutMs: 2_000 }), 'Unavailable');
      expect(err.message).toContain(server.url);
      expect(err.message).not.toMatch(/wr0ng|s3cret/);
    } finally {
      await server.dispose();
    }
  });

  it('fails a publish with Unavailable within its timeout when the server is gone', async () => {
    const nats = await startNats();
    const gone = await connectNatsBus({ url: nats.url, name: 'test', publishTimeoutMs: 1_500, closeTimeoutMs: 500 });
    await gone.publish(epochEvent(uniqueSweep(), 1));
    await nats.stop();
    const started = Date.now();
    const err = await rejectsWith(gone.publish(epochEvent(uniqueSweep(), 1)), 'Unavailable');
    // The bound is the point of this test: a trainer must never hang on a dead server.
    expect(Date.now() - started).toBeLessThan(1_500 + 1_000);
    expect(err.message).toContain(nats.url);
    await gone.close();
    await rejectsWith(gone.publish(epochEvent(uniqueSweep(), 1)), 'Closed');
  });

  it('publishes through a short server restart once the client has reconnected', async () => {
    const server = await restartableNats();
    try {
      const restarting = await connectNatsBus({ url: server.url, name: 'test', publishTimeoutMs: 15_000 });
      const sweep = uniqueSweep();
      await restarting.publish(epochEvent(sweep, 1));
      await server.stop();
      const during = restarting.publish(epochEvent(sweep, 2));
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
      // Resolves (duplicate or not: an attempt buffered during the outage may have landed first).
      expect((await during).seq).toEqual(expect.any(Number));
      await restarting.publish(completedEvent(sweep));
      const sub = await restarting.consume({ durable: 'after-restart', filter: NATS.sweepSubjects(sweep) });
      const got = [await takeAck(sub), await takeAck(sub), await takeAck(sub)];
      expect(ids(got)).toEqual([epochEvent(sweep, 1).id, epochEvent(sweep, 2).id, completedEvent(sweep).id]);
      await restarting.close();
    } finally {
      await server.dispose();
    }
  });
});
