/**
 * One behavioural suite for both KeyValueStores: the coordinator's state store must behave the
 * same on NATS JetStream KV and in embedded mode.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { memoryKvFixture, natsKvFixture, rejectsWith, type KvFixture } from './test-support.js';
import type { KeyValueStore, KvWatch, KvWatchEntry } from './types.js';

const text = (v: Uint8Array | undefined) => (v ? new TextDecoder().decode(v) : undefined);

async function next(watch: KvWatch, count: number): Promise<KvWatchEntry[]> {
  const it = watch[Symbol.asyncIterator]();
  const out: KvWatchEntry[] = [];
  while (out.length < count) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe.each([
  ['in-process KV', memoryKvFixture],
  ['NATS KV', natsKvFixture],
] as const)('%s', (_name, makeFixture: () => Promise<KvFixture>) => {
  let fixture: KvFixture | undefined;
  let kv: KeyValueStore;
  let n = 0;
  // Each test works under its own key prefix, so tests neither see nor depend on one another.
  const prefix = () => `case${++n}`;

  beforeAll(async () => {
    fixture = await makeFixture();
    kv = fixture.kv;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('creates a key once and refuses a second create with Exists', async () => {
    const key = `${prefix()}.sweep`;
    const rev = await kv.create(key, '{"phase":"Pending"}');
    expect(await kv.get(key)).toEqual({ value: new TextEncoder().encode('{"phase":"Pending"}'), revision: rev });
    const err = await rejectsWith(kv.create(key, 'again'), 'Exists');
    expect(err.message).toContain(key);
    expect(text((await kv.get(key))?.value)).toBe('{"phase":"Pending"}');
  });

  it('updates only from the current revision (compare-and-set)', async () => {
    const key = `${prefix()}.trial`;
    const r1 = await kv.put(key, 'v1');
    const r2 = await kv.update(key, 'v2', r1);
    expect(r2).toBeGreaterThan(r1);
    await rejectsWith(kv.update(key, 'stale writer', r1), 'WrongRevision');
    expect(await kv.get(key)).toEqual({ value: new TextEncoder().encode('v2'), revision: r2 });
    await rejectsWith(kv.update(`${key}-absent`, 'v', 1), 'WrongRevision');
    await rejectsWith(kv.update(key, 'v', 0), 'InvalidArgument');
  });

  it('deletes: get is undefined, create works again, deleting twice is fine', async () => {
    const key = `${prefix()}.gone`;
    await kv.put(key, 'v1');
    await kv.delete(key);
    expect(await kv.get(key)).toBeUndefined();
    await kv.delete(key);
    await kv.delete(`${key}-never-existed`);
    const rev = await kv.create(key, 'v2');
    expect((await kv.get(key))?.revision).toBe(rev);
  });

  it('lists present keys by prefix', async () => {
    const p = prefix();
    for (const k of ['a.b.c', 'a.b.d', 'a.bz', 'a.x', 'other']) await kv.put(`${p}.${k}`, '1');
    await kv.delete(`${p}.a.x`);
    const list = async (q: string) => {
      const out: string[] = [];
      for await (const k of kv.keys(q)) out.push(k);
      return out.sort();
    };
    expect(await list(`${p}.a.b.`)).toEqual([`${p}.a.b.c`, `${p}.a.b.d`]);
    expect(await list(`${p}.a.b`)).toEqual([`${p}.a.b.c`, `${p}.a.b.d`, `${p}.a.bz`]);
    expect(await list(`${p}.`)).toEqual([`${p}.a.b.c`, `${p}.a.b.d`, `${p}.a.bz`, `${p}.other`]);
    expect(await list(`${p}-none.`)).toEqual([]);
    expect((await list('')).filter((k) => k.startsWith(`${p}.`))).toHaveLength(4);
  });

  it('watches the current values first, then every change', async () => {
    const p = prefix();
    const r1 = await kv.put(`${p}.t1`, 'Running');
    const watch = await kv.watch({ key: `${p}.>` });
    const [initial] = await next(watch, 1);
    expect(initial).toEqual({
      key: `${p}.t1`,
      value: new TextEncoder().encode('Running'),
      revision: r1,
      operation: 'PUT',
    });
    const r2 = await kv.put(`${p}.t2`, 'Pending');
    await kv.put(`elsewhere${p}.t3`, 'not watched');
    await kv.delete(`${p}.t1`);
    const changes = await next(watch, 2);
    expect(changes.map((e) => [e.key, e.operation, text(e.value)])).toEqual([
      [`${p}.t2`, 'PUT', 'Pending'],
      [`${p}.t1`, 'DEL', undefined],
    ]);
    expect(changes[0]?.revision).toBe(r2);
    expect(changes[1]?.revision).toBeGreaterThan(r2);
    watch.stop();
  });

  it('watches only later changes with updatesOnly, and ends when left', async () => {
    const p = prefix();
    await kv.put(`${p}.old`, 'x');
    const watch = await kv.watch({ key: `${p}.*`, updatesOnly: true });
    await kv.put(`${p}.new`, 'y');
    for await (const e of watch) {
      expect([e.key, e.operation]).toEqual([`${p}.new`, 'PUT']);
      break; // leaving the loop stops the watch
    }
  });

  it('refuses keys JetStream would refuse', async () => {
    for (const key of ['', '.lead', 'trail.', 'a..b', 'sp ace', 'star.*', 'gt.>'])
      await rejectsWith(kv.put(key, 'v'), 'InvalidArgument');
  });
});
