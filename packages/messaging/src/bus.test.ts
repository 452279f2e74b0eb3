/**
 * One behavioural suite, run against both buses: whatever the evaluator can observe through Bus
 * must be the same in embedded mode (in-process) and on a cluster (NATS JetStream).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NATS, type TrialEvent } from '@fersweep/contracts';
import {
  completedEvent,
  epochEvent,
  ids,
  iteratorOf,
  memoryFixture,
  natsFixture,
  rejectsWith,
  sleep,
  startedEvent,
  take,
  takeAck,
  uniqueSweep,
  type BusFixture,
} from './test-support.js';
import type { Bus, Delivery } from './types.js';

describe.each([
  ['in-process bus', memoryFixture],
  ['NATS bus', () => natsFixture()],
] as const)('%s', (_name, makeFixture: () => Promise<BusFixture>) => {
  let fixture: BusFixture | undefined;
  let bus: Bus;
  let n = 0;
  const durable = () => `d${++n}`;

  beforeAll(async () => {
    fixture = await makeFixture();
    bus = fixture.bus;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('delivers published events to a durable consumer exactly as published, in order', async () => {
    const sweep = uniqueSweep();
    const events = [startedEvent(sweep), epochEvent(sweep, 1), completedEvent(sweep)];
    const seqs: number[] = [];
    for (const e of events) {
      const r = await bus.publish(e);
      expect(r.duplicate).toBe(false);
      seqs.push(r.seq ?? -1);
    }
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep) });
    const got = await take(sub, 3);
    expect(got.map((d) => d.event)).toEqual(events);
    expect(got.map((d) => d.id)).toEqual(events.map((e) => e.id));
    expect(got.map((d) => d.seq)).toEqual(seqs);
    expect(got.map((d) => d.subject)).toEqual(events.map((e) => NATS.trialSubject(sweep, 't1', e.type)));
    expect(got.every((d) => !d.redelivered && d.deliveryCount === 1 && d.error === undefined)).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(got[0]?.raw))).toEqual(events[0]);
    expect(await sub.pending()).toBe(3); // delivered, not yet acked
    for (const d of got) await d.ack();
    expect(await sub.pending()).toBe(0);
    await sub.stop();
    expect(await sub.closed).toBeUndefined();
  });

  it('reports a second publish of the same id as a duplicate and delivers it once', async () => {
    const sweep = uniqueSweep();
    const first = epochEvent(sweep, 1);
    const retry: TrialEvent = { ...first, attempt: 2 }; // a restarted trainer replays epoch 1
    const a = await bus.publish(first);
    const b = await bus.publish(retry);
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ duplicate: true, seq: a.seq });
    await bus.publish(completedEvent(sweep));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep) });
    const got = await take(sub, 2);
    expect(ids(got)).toEqual([first.id, completedEvent(sweep).id]);
    expect(got[0]?.event?.attempt).toBe(1);
    await sub.stop();
  });

  it('delivers a nak’ed event again, counting deliveries, and an acked one never again', async () => {
    const sweep = uniqueSweep();
    await bus.publish(epochEvent(sweep, 1));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep) });
    const [first] = await take(sub, 1);
    await first?.nak();
    const [again] = await take(sub, 1);
    expect(again?.id).toBe(first?.id);
    expect(again?.redelivered).toBe(true);
    expect(again?.deliveryCount).toBe(2);
    await again?.ack();
    await bus.publish(completedEvent(sweep));
    expect((await takeAck(sub)).id).toBe(completedEvent(sweep).id);
    await sub.stop();
  });

  it('delivers a nak’ed event again after the requested delay', async () => {
    const sweep = uniqueSweep();
    await bus.publish(epochEvent(sweep, 1));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep) });
    const [first] = await take(sub, 1);
    await first?.nak(200);
    const [again] = await take(sub, 1);
    expect([again?.id, again?.deliveryCount]).toEqual([first?.id, 2]);
    await again?.ack();
    await sub.stop();
  });

  it('delivers an unacked event again once ack_wait expires', async () => {
    const sweep = uniqueSweep();
    await bus.publish(epochEvent(sweep, 1));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep), ackWaitMs: 1_000 });
    const [first] = await take(sub, 1);
    const [again] = await take(sub, 1); // no ack: it comes back
    expect([again?.id, again?.redelivered, again?.deliveryCount]).toEqual([first?.id, true, 2]);
    await again?.ack();
    await sub.stop();
  });

  it('gives up on an event after maxDeliver deliveries', async () => {
    const sweep = uniqueSweep();
    await bus.publish(epochEvent(sweep, 1));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep), maxDeliver: 2 });
    for (const count of [1, 2]) {
      const [d] = await take(sub, 1);
      expect(d?.deliveryCount).toBe(count);
      await d?.nak();
    }
    await bus.publish(completedEvent(sweep));
    expect((await takeAck(sub)).id).toBe(completedEvent(sweep).id);
    await sub.stop();
  });

  it('resumes a restarted durable where it left off: nothing lost, nothing acked repeated', async () => {
    const sweep = uniqueSweep();
    const name = durable();
    const filter = NATS.sweepSubjects(sweep);
    const events = [1, 2, 3, 4, 5].map((e) => epochEvent(sweep, e));
    for (const e of events) await bus.publish(e);
    // Short ack_wait: the NATS client fetches ahead, and what it fetched comes back after ack_wait.
    const first = await bus.consume({ durable: name, filter, ackWaitMs: 1_000 });
    for (let i = 0; i < 3; i++) await takeAck(first);
    await first.stop();

    const later = [6, 7].map((e) => epochEvent(sweep, e));
    for (const e of later) await bus.publish(e);
    const second = await bus.consume({ durable: name, filter, ackWaitMs: 1_000 });
    // Each acked as it comes: 6 and 7 arrive at once, 4 and 5 only after the first consumer's ack_wait, and
    // acking all four at the end let 6 and 7 pass their own ack_wait on a loaded machine (redelivered, CI flake).
    const got: Delivery[] = [];
    for (let i = 0; i < 4; i++) got.push(await takeAck(second));
    expect(ids(got).sort()).toEqual([...events.slice(3), ...later].map((e) => e.id).sort());
    await bus.publish(completedEvent(sweep));
    expect((await takeAck(second)).id).toBe(completedEvent(sweep).id);
    await second.stop();
  });

  it("starts a new durable at the next event with deliverFrom 'new'", async () => {
    const sweep = uniqueSweep();
    await bus.publish(epochEvent(sweep, 1));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep), deliverFrom: 'new' });
    await bus.publish(epochEvent(sweep, 2));
    expect((await takeAck(sub)).id).toBe(epochEvent(sweep, 2).id);
    await sub.stop();
  });

  it('filters subjects with NATS wildcards', async () => {
    const [a, b] = [uniqueSweep(), uniqueSweep()];
    for (const s of [a, b]) {
      await bus.publish(epochEvent(s, 1));
      await bus.publish(completedEvent(s, 't2'));
    }
    const bySweep = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(b) });
    expect(ids(await take(bySweep, 2))).toEqual([epochEvent(b, 1).id, completedEvent(b, 't2').id]);
    await bySweep.stop();
    const completions = await bus.consume({ durable: durable(), filter: `fersweep.trials.${a}.*.trial_completed` });
    expect((await takeAck(completions)).id).toBe(completedEvent(a, 't2').id);
    await completions.stop();
  });

  it('refuses an invalid event without sending anything', async () => {
    const sweep = uniqueSweep();
    const bad = { ...epochEvent(sweep, 1), accuracy: 2 } as TrialEvent;
    const err = await rejectsWith(bus.publish(bad), 'InvalidEvent');
    expect(err.message).toContain('accuracy');
    await rejectsWith(bus.publish({ ...epochEvent(sweep, 1), sweep: 'Not A DNS label' } as TrialEvent), 'InvalidEvent');
    await bus.publish(completedEvent(sweep));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep) });
    expect((await takeAck(sub)).id).toBe(completedEvent(sweep).id);
    expect(await sub.pending()).toBe(0);
    await sub.stop();
  });

  it('refuses a durable name reused with another filter, and bad names and filters', async () => {
    const name = durable();
    const sub = await bus.consume({ durable: name, filter: NATS.sweepSubjects(uniqueSweep()) });
    await rejectsWith(bus.consume({ durable: name, filter: NATS.sweepSubjects(uniqueSweep()) }), 'ConsumerConflict');
    await rejectsWith(bus.consume({ durable: 'has.dot' }), 'InvalidArgument');
    await rejectsWith(bus.consume({ durable: durable(), filter: 'other.subjects.>' }), 'InvalidArgument');
    await rejectsWith(bus.consume({ durable: durable(), filter: 'fersweep.trials.>.x' }), 'InvalidArgument');
    await sub.stop();
  });

  it('holds back deliveries while maxInFlight are unacked', async () => {
    const sweep = uniqueSweep();
    for (const e of [1, 2]) await bus.publish(epochEvent(sweep, e));
    const sub = await bus.consume({ durable: durable(), filter: NATS.sweepSubjects(sweep), maxInFlight: 1 });
    const [first] = await take(sub, 1);
    const next = iteratorOf(sub).next();
    // The second event must wait for the first one's ack (a bound cannot be shown without waiting).
    expect(await Promise.race([next.then(() => 'delivered'), sleep(500).then(() => 'held')])).toBe('held');
    await first?.ack();
    const r = await next;
    expect(r.done ? undefined : r.value.id).toBe(epochEvent(sweep, 2).id);
    await sub.stop();
  });

  it('in handler mode acks what the handler completes and redelivers what it throws on', async () => {
    const sweep = uniqueSweep();
    const seen: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const sub = await bus.consume({
      durable: durable(),
      filter: NATS.sweepSubjects(sweep),
      handler: async (d: Delivery) => {
        seen.push(`${d.event?.type}#${d.deliveryCount}`);
        if (seen.length === 3) done();
        if (d.event?.type === 'trial.epoch' && d.deliveryCount === 1) throw new Error('transient');
      },
    });
    expect(() => sub[Symbol.asyncIterator]()).toThrow(/handler/);
    await bus.publish(epochEvent(sweep, 1));
    await bus.publish(completedEvent(sweep));
    await finished;
    // Redeliveries may overtake or follow later events: consumers must not rely on the order.
    expect(seen.sort()).toEqual(['trial.completed#1', 'trial.epoch#1', 'trial.epoch#2']);
    // The acks follow the handler's return: wait for them (bounded), then nothing is outstanding.
    for (let i = 0; i < 100 && (await sub.pending()) > 0; i++) await sleep(20);
    expect(await sub.pending()).toBe(0);
    await sub.stop();
  });

  it('ends subscriptions on close and refuses later calls with Closed', async () => {
    const other = await fixture?.openBus();
    if (!other) throw new Error('no fixture');
    const sub = await other.consume({ durable: durable(), filter: NATS.sweepSubjects(uniqueSweep()) });
    const next = iteratorOf(sub).next();
    await other.close();
    expect((await next).done).toBe(true);
    expect(await sub.closed).toBeUndefined();
    await rejectsWith(other.publish(epochEvent(uniqueSweep(), 1)), 'Closed');
    await rejectsWith(other.consume({ durable: durable() }), 'Closed');
    await other.close(); // idempotent
  });
});
