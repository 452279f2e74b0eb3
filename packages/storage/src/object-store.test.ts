/**
 * One behavioural suite, run against both stores: whatever a caller can observe through
 * ObjectStore must be the same on a laptop (file://) and on a cluster (s3://).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { compareKeys } from './keys.js';
import {
  byteStream,
  collect,
  fileFixture,
  handFedStream,
  patterned,
  readAll,
  rejectsWith,
  s3Fixture,
  tick,
  type StoreFixture,
} from './test-support.js';
import type { ObjectStore } from './types.js';

const MIB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.each([
  ['FileStore', fileFixture],
  ['S3Store', () => s3Fixture()],
] as const)('%s', (_name, makeFixture: () => Promise<StoreFixture>) => {
  let fixture: StoreFixture | undefined;
  let root: ObjectStore;
  let n = 0;
  // Each test works under its own prefix, so tests neither see nor depend on one another.
  const fresh = () => root.sub(`case-${++n}`);

  beforeAll(async () => {
    fixture = await makeFixture();
    root = fixture.store;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  describe('put and get', () => {
    it('round-trips a buffer, a string and a stream', async () => {
      const store = fresh();
      const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
      expect(await store.put('buf.bin', bytes)).toMatchObject({ key: 'buf.bin', bytes: 5 });
      expect(await store.put('text.txt', 'héllo')).toMatchObject({ key: 'text.txt', bytes: 6 });
      expect(await store.put('stream.bin', Readable.from([Buffer.from('ab'), 'cd', Buffer.from('e')]))).toMatchObject({
        key: 'stream.bin',
        bytes: 5,
      });
      expect(await store.get('buf.bin')).toEqual(Buffer.from(bytes));
      expect((await store.get('text.txt')).toString()).toBe('héllo');
      expect((await readAll(await store.getStream('stream.bin'))).toString()).toBe('abcde');
    });

    it('stores empty objects from a buffer and from a stream', async () => {
      const store = fresh();
      await store.put('empty-buf', new Uint8Array(0));
      await store.put('empty-stream', Readable.from([]));
      expect(await store.get('empty-buf')).toHaveLength(0);
      expect(await readAll(await store.getStream('empty-stream'))).toHaveLength(0);
      expect((await store.head('empty-stream'))?.bytes).toBe(0);
    });

    it('streams a 12 MiB object in and out intact', async () => {
      const store = fresh();
      const total = 12 * MIB + 123;
      const expected = sha256(patterned(0, total));
      const info = await store.put('big.bin', byteStream(total));
      expect(info.bytes).toBe(total);
      expect(sha256(await readAll(await store.getStream('big.bin')))).toBe(expected);
      expect(sha256(await store.get('big.bin'))).toBe(expected);
      expect((await store.head('big.bin'))?.bytes).toBe(total);
    });

    it('replaces an object and its metadata when the key is written again', async () => {
      const store = fresh();
      await store.put('k', 'first', { metadata: { v: '1' }, contentType: 'text/plain' });
      await store.put('k', 'second, longer', { metadata: { v: '2' } });
      expect((await store.get('k')).toString()).toBe('second, longer');
      expect((await store.head('k'))?.metadata).toEqual({ v: '2' });
      await store.put('k', 'third');
      expect((await store.head('k'))?.metadata).toBeUndefined();
    });

    it('passes on the error of a body stream that fails, and leaves no object', async () => {
      const store = fresh();
      const boom = new Error('source broke');
      await expect(store.put('new.bin', byteStream(256 * 1024, { failWith: boom }))).rejects.toBe(boom);
      expect(await store.head('new.bin')).toBeUndefined();
      expect(await collect(store.list())).toEqual([]);
    });

    it('keeps the old object when a rewrite from a failing stream breaks off', async () => {
      const store = fresh();
      await store.put('kept', 'old content');
      const boom = new Error('network went away');
      await expect(store.put('kept', byteStream(9 * MIB, { failWith: boom }))).rejects.toBe(boom);
      expect((await store.get('kept')).toString()).toBe('old content');
    });

    it('rejects stream chunks that are not bytes or strings with InvalidArgument', async () => {
      const store = fresh();
      await rejectsWith(store.put('odd', Readable.from([{ not: 'bytes' }])), 'InvalidArgument');
      expect(await store.head('odd')).toBeUndefined();
    });
  });

  describe('atomic writes', () => {
    it('shows a reader nothing, never a partial object, while a slow streamed put of a new key runs', async () => {
      const store = fresh();
      const feed = handFedStream();
      const put = store.put('slow.txt', feed.stream);
      feed.push('first half, ');
      for (let i = 0; i < 5; i++) {
        await tick();
        expect(await store.head('slow.txt')).toBeUndefined();
        await rejectsWith(store.get('slow.txt'), 'NotFound');
        expect(await collect(store.list())).toEqual([]);
      }
      feed.push('second half');
      feed.end();
      await put;
      expect((await store.get('slow.txt')).toString()).toBe('first half, second half');
    });

    it('shows a reader the whole old object while a slow streamed rewrite runs', async () => {
      const store = fresh();
      await store.put('doc.txt', 'version one', { metadata: { version: '1' } });
      const feed = handFedStream();
      const put = store.put('doc.txt', feed.stream, { metadata: { version: '2' } });
      feed.push('version two, ');
      for (let i = 0; i < 5; i++) {
        await tick();
        expect((await store.get('doc.txt')).toString()).toBe('version one');
        expect((await store.head('doc.txt'))?.bytes).toBe('version one'.length);
      }
      feed.push('complete');
      feed.end();
      await put;
      expect((await store.get('doc.txt')).toString()).toBe('version two, complete');
      expect((await store.head('doc.txt'))?.metadata).toEqual({ version: '2' });
    });
  });

  describe('getStream ranges', () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = fresh();
      await store.put('abc', 'abcdefghij');
    });
    const read = async (range: { start: number; end?: number }) =>
      (await readAll(await store.getStream('abc', range))).toString();

    it('reads an inclusive [start, end] range', async () => {
      expect(await read({ start: 0, end: 3 })).toBe('abcd');
      expect(await read({ start: 3, end: 3 })).toBe('d');
    });
    it('reads from start to the end when end is left out', async () => {
      expect(await read({ start: 5 })).toBe('fghij');
    });
    it('clamps an end past the object and yields nothing for a start past it', async () => {
      expect(await read({ start: 8, end: 100 })).toBe('ij');
      expect(await read({ start: 10 })).toBe('');
      expect(await read({ start: 50, end: 60 })).toBe('');
    });
    it('rejects negative, reversed or fractional ranges with InvalidArgument', async () => {
      await rejectsWith(store.getStream('abc', { start: -1 }), 'InvalidArgument');
      await rejectsWith(store.getStream('abc', { start: 5, end: 2 }), 'InvalidArgument');
      await rejectsWith(store.getStream('abc', { start: 1.5 }), 'InvalidArgument');
    });
    it('reads a range out of a multi-part object', async () => {
      const big = fresh();
      await big.put('big', byteStream(9 * MIB));
      const start = 8 * MIB - 10;
      const got = await readAll(await big.getStream('big', { start, end: start + 19 }));
      expect(got).toEqual(patterned(start, 20));
    });
  });

  describe('head and metadata', () => {
    it('reports size, etag, modification time, content type and metadata', async () => {
      const store = fresh();
      const put = await store.put('m.json', '{"a":1}', {
        contentType: 'application/json',
        metadata: { Sha256: 'abc123', 'x-run': 'r-1' },
      });
      expect(put).toMatchObject({
        bytes: 7,
        contentType: 'application/json',
        metadata: { sha256: 'abc123', 'x-run': 'r-1' },
      });
      const info = await store.head('m.json');
      expect(info).toMatchObject({
        key: 'm.json',
        bytes: 7,
        contentType: 'application/json',
        metadata: { sha256: 'abc123', 'x-run': 'r-1' },
      });
      expect(info?.etag).toEqual(expect.any(String));
      expect(info?.lastModified).toBeInstanceOf(Date);
    });

    it('gives a new etag to new content', async () => {
      const store = fresh();
      await store.put('e', 'one');
      const first = await store.head('e');
      await store.put('e', 'two!');
      expect((await store.head('e'))?.etag).not.toBe(first?.etag);
    });

    it('returns undefined for an absent key', async () => {
      expect(await fresh().head('nope/never')).toBeUndefined();
    });

    it.each([
      ['a non-ASCII value', { note: 'café' }],
      ['a value with surrounding spaces', { note: ' padded ' }],
      ['a name with a space', { 'bad name': 'x' }],
      ['a name given twice in two cases', { Run: 'a', run: 'b' }],
      ['more than 2 KiB', { big: 'x'.repeat(2100) }],
    ])('rejects metadata with %s as InvalidArgument', async (_what, metadata) => {
      const store = fresh();
      await rejectsWith(store.put('m', 'x', { metadata }), 'InvalidArgument');
      expect(await store.head('m')).toBeUndefined();
    });
  });

  describe('list', () => {
    it('lists every object recursively in key (UTF-8 byte) order, without metadata', async () => {
      const store = fresh();
      const keys = ['b', 'a/x', 'a-b', 'a0', 'a.txt', 'a/y/z', 'é', 'z', 'A'];
      for (const k of keys) await store.put(k, k, { metadata: { k: 'v' } });
      const listed = await collect(store.list());
      expect(listed.map((o) => o.key)).toEqual([...keys].sort(compareKeys));
      expect(listed.map((o) => o.key)).toEqual(['A', 'a-b', 'a.txt', 'a/x', 'a/y/z', 'a0', 'b', 'z', 'é']);
      const ax = listed.find((o) => o.key === 'a/x');
      expect(ax).toMatchObject({ bytes: 3 });
      expect(ax?.etag).toEqual(expect.any(String));
      expect(ax?.lastModified).toBeInstanceOf(Date);
    });

    it('filters by prefix, which may end in a slash or in part of a name', async () => {
      const store = fresh();
      for (const k of ['shards/train-0', 'shards/train-1', 'shards/test-0', 'shardsX', 'manifest.json'])
        await store.put(k, k);
      const keysUnder = async (p: string) => (await collect(store.list(p))).map((o) => o.key);
      expect(await keysUnder('shards/')).toEqual(['shards/test-0', 'shards/train-0', 'shards/train-1']);
      expect(await keysUnder('shards/tr')).toEqual(['shards/train-0', 'shards/train-1']);
      expect(await keysUnder('shards')).toEqual(['shards/test-0', 'shards/train-0', 'shards/train-1', 'shardsX']);
      expect(await keysUnder('nothing/')).toEqual([]);
      expect(await keysUnder('')).toHaveLength(5);
    });

    it('lists and deletes more than 1000 objects (more than one S3 page)', async () => {
      const store = fresh();
      const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      let next = 0;
      const writer = async () => {
        for (let k = keys[next++]; k !== undefined; k = keys[next++]) await store.put(k, 'x');
      };
      await Promise.all(Array.from({ length: 12 }, writer));
      const listed = await collect(store.list('many/'));
      expect(listed.map((o) => o.key)).toEqual(keys);
      expect(await store.deletePrefix('many/')).toBe(1005);
      expect(await collect(store.list())).toEqual([]);
    }, 30_000);
  });

  describe('delete and deletePrefix', () => {
    it('deletes an object, and treats an absent key as done', async () => {
      const store = fresh();
      await store.put('d/x', 'x');
      await store.delete('d/x');
      expect(await store.head('d/x')).toBeUndefined();
      await store.delete('d/x');
      await store.delete('never/was');
    });

    it('does not treat a key that is only a prefix of others as an object', async () => {
      const store = fresh();
      await store.put('dir/inner', 'x');
      await store.delete('dir');
      expect(await store.head('dir')).toBeUndefined();
      expect((await store.get('dir/inner')).toString()).toBe('x');
    });

    it('deletes everything under a prefix, and only that, returning how many', async () => {
      const store = fresh();
      for (const k of ['p/1', 'p/2', 'p/q/3', 'pq', 'other']) await store.put(k, k);
      expect(await store.deletePrefix('p/')).toBe(3);
      expect((await collect(store.list())).map((o) => o.key)).toEqual(['other', 'pq']);
      expect(await store.deletePrefix('p')).toBe(1);
      expect(await store.deletePrefix('none/')).toBe(0);
      expect((await collect(store.list())).map((o) => o.key)).toEqual(['other']);
    });
  });

  describe('sub stores', () => {
    it('roots a store at a prefix: relative keys, nested subs, shared data', async () => {
      const parent = fresh();
      const child = parent.sub('datasets/fer2013');
      expect(child.url).toBe(`${parent.url}/datasets/fer2013`);
      expect(parent.sub('datasets/fer2013/').url).toBe(child.url);
      expect(parent.sub('').url).toBe(parent.url);
      await child.put('manifest.json', '{}');
      await parent.sub('datasets').sub('fer2013').put('shards/a', 'a');
      expect((await parent.get('datasets/fer2013/manifest.json')).toString()).toBe('{}');
      expect((await collect(child.list())).map((o) => o.key)).toEqual(['manifest.json', 'shards/a']);
      expect((await collect(parent.list())).map((o) => o.key)).toEqual([
        'datasets/fer2013/manifest.json',
        'datasets/fer2013/shards/a',
      ]);
      expect(await child.deletePrefix('')).toBe(2);
      expect(await collect(parent.list())).toEqual([]);
    });

    it('keeps a sibling whose name extends the prefix out of the sub store', async () => {
      const parent = fresh();
      await parent.put('run/a', 'in');
      await parent.put('run-2/a', 'out');
      await parent.put('runner', 'out');
      expect((await collect(parent.sub('run').list())).map((o) => o.key)).toEqual(['a']);
    });
  });

  describe('errors', () => {
    it('says NotFound, naming the key, for get and getStream of an absent key', async () => {
      const store = fresh();
      const err = await rejectsWith(store.get('missing/key.bin'), 'NotFound');
      expect(err.message).toContain("'missing/key.bin'");
      expect(err.message).not.toContain('\n');
      await rejectsWith(store.getStream('missing/key.bin'), 'NotFound');
      await rejectsWith(store.getStream('missing/key.bin', { start: 0, end: 1 }), 'NotFound');
    });

    it.each([
      ['empty', ''],
      ['absolute', '/etc/passwd'],
      ['parent segment', 'a/../b'],
      ['dot segment', 'a/./b'],
      ['empty segment', 'a//b'],
      ['trailing slash', 'a/'],
      ['reserved name', 'a/.fersweep-meta/x'],
      ['backslash', 'a\\b'],
      ['control character', 'a\nb'],
      ['over 1024 bytes', Array.from({ length: 6 }, () => 'k'.repeat(200)).join('/')],
    ])('rejects a key that is %s with InvalidKey in every operation', async (_what, key) => {
      const store = fresh();
      await rejectsWith(store.put(key, 'x'), 'InvalidKey');
      await rejectsWith(store.get(key), 'InvalidKey');
      await rejectsWith(store.getStream(key), 'InvalidKey');
      await rejectsWith(store.head(key), 'InvalidKey');
      await rejectsWith(store.delete(key), 'InvalidKey');
      if (key !== '' && !key.endsWith('/')) {
        await rejectsWith(() => store.sub(key), 'InvalidKey');
        await rejectsWith(collect(store.list(key)), 'InvalidKey');
        await rejectsWith(store.deletePrefix(key), 'InvalidKey');
      }
    });
  });
});
