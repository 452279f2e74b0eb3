import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { startNats, type RunningServer } from '@fersweep/testkit';
import { busFromEnv } from './connect.js';
import { connectNatsBus } from './nats.js';
import type { IpcEndpoint } from './ipc.js';
import { epochEvent, rejectsWith, uniqueSweep } from './test-support.js';
import type { TrialEvent } from '@fersweep/contracts';

describe('busFromEnv', () => {
  let nats: RunningServer | undefined;
  beforeAll(async () => {
    nats = await startNats();
    // The trainers' bus publishes only: the stream is the coordinator's and evaluator's to create.
    await (await connectNatsBus({ url: nats.url, name: 'setup' })).close();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('connects to NATS when NATS_URL is set, whatever the configured kind', async () => {
    const bus = await busFromEnv({ NATS_URL: nats?.url }, { kind: 'ipc' }, undefined, { name: 'test' });
    expect((await bus.publish(epochEvent(uniqueSweep(), 1))).seq).toEqual(expect.any(Number));
    await bus.close();
  });

  it("connects to settings.url for kind 'nats', and asks for a URL when there is none", async () => {
    const bus = await busFromEnv({}, { kind: 'nats', url: nats?.url });
    await bus.publish(epochEvent(uniqueSweep(), 1));
    await bus.close();
    const err = await rejectsWith(busFromEnv({}, { kind: 'nats' }), 'InvalidArgument');
    expect(err.message).toContain('NATS_URL');
  });

  it("publishes over IPC for kind 'ipc', and refuses to start without a channel", async () => {
    const sent: unknown[] = [];
    const emitter = new EventEmitter();
    const endpoint: IpcEndpoint = Object.assign(emitter, {
      connected: true,
      send(m: unknown, cb: (e: Error | null) => void) {
        sent.push(m);
        cb(null);
        const ack = { kind: 'fersweep.event.ack', ref: (m as { ref: number }).ref, ok: true, duplicate: false, seq: 7 };
        queueMicrotask(() => emitter.emit('message', ack));
        return true;
      },
    });
    const bus = await busFromEnv({}, { kind: 'ipc' }, undefined, { endpoint });
    const ev = epochEvent(uniqueSweep(), 1);
    expect(await bus.publish(ev)).toEqual({ duplicate: false, seq: 7 });
    expect(sent).toEqual([{ kind: 'fersweep.event', ref: 1, event: ev }]);
    const noChannel: IpcEndpoint = Object.assign(new EventEmitter(), { send: undefined });
    await rejectsWith(busFromEnv({}, { kind: 'ipc' }, undefined, { endpoint: noChannel }), 'Unavailable');
  });

  it('only logs (after validating) when nothing is configured', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => void lines.push(m), info: () => {}, warn: () => {}, error: () => {} };
    const bus = await busFromEnv({ NATS_URL: '' }, { kind: 'none' }, logger);
    const ev = epochEvent(uniqueSweep(), 1);
    expect(await bus.publish(ev)).toEqual({ duplicate: false });
    expect(lines).toEqual([`trial event trial.epoch ${ev.id} (no bus configured)`]);
    await rejectsWith(bus.publish({ ...ev, loss: Number.NaN } as TrialEvent), 'InvalidEvent');
    await rejectsWith(bus.consume({ durable: 'x' }), 'Unsupported');
    await bus.close();
    await rejectsWith(bus.publish(ev), 'Closed');
  });
});
