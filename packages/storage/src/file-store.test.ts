/** What only the file store has: its on-disk layout, sidecars, temp files and directory rules. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileStore } from './file-store.js';
import { byteStream, collect, eventually, fileFixture, handFedStream, rejectsWith } from './test-support.js';

const ls = async (dir: string) => (await readdir(dir)).sort();

describe('FileStore', () => {
  let fixture: Awaited<ReturnType<typeof fileFixture>>;
  let n = 0;
  // Each test gets its own directory, and a store rooted there.
  const fresh = () => {
    const dir = join(fixture.dir, `case-${++n}`);
    return { dir, store: new FileStore(dir) };
  };

  beforeAll(async () => {
    fixture = await fileFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('keeps the bytes as a plain file and the metadata in a sidecar beside it', async () => {
    const { dir, store } = fresh();
    await store.put('a/b.bin', 'raw bytes', { contentType: 'text/plain', metadata: { sha256: 'abc' } });
    expect(await readFile(join(dir, 'a/b.bin'), 'utf8')).toBe('raw bytes');
    expect(JSON.parse(await readFile(join(dir, 'a/.fersweep-meta/b.bin'), 'utf8'))).toMatchObject({
      format: 'fersweep-object-meta/v1',
      contentType: 'text/plain',
      metadata: { sha256: 'abc' },
    });
    expect(await ls(join(dir, 'a'))).toEqual(['.fersweep-meta', 'b.bin']);
    expect((await collect(store.list())).map((o) => o.key)).toEqual(['a/b.bin']);
  });

  it('shows the same metadata to stores rooted at different depths', async () => {
    const { dir, store } = fresh();
    await store.put('x/y/z.json', '{}', { metadata: { owner: 'me' } });
    expect((await new FileStore(join(dir, 'x')).head('y/z.json'))?.metadata).toEqual({ owner: 'me' });
    expect((await store.sub('x/y').head('z.json'))?.metadata).toEqual({ owner: 'me' });
  });

  it('ignores a sidecar left from another version of the file', async () => {
    const { dir, store } = fresh();
    await store.put('f', 'one', { metadata: { version: '1' } });
    await writeFile(join(dir, 'f'), 'replaced by another tool');
    const info = await store.head('f');
    expect(info?.bytes).toBe('replaced by another tool'.length);
    expect(info?.metadata).toBeUndefined();
  });

  it('removes the sidecar when an object is rewritten without metadata or deleted', async () => {
    const { dir, store } = fresh();
    await store.put('s/k', 'one', { metadata: { a: '1' } });
    await store.put('s/k', 'two');
    await expect(stat(join(dir, 's/.fersweep-meta/k'))).rejects.toMatchObject({ code: 'ENOENT' });
    await store.put('s/k', 'three', { metadata: { a: '3' } });
    await store.put('s/other', 'x');
    await store.delete('s/k');
    expect(await ls(join(dir, 's'))).toEqual(['other']);
  });

  it('lists and reads files that other tools put there', async () => {
    const { dir, store } = fresh();
    await mkdir(join(dir, 'imported/deep'), { recursive: true });
    await writeFile(join(dir, 'imported/deep/data.csv'), 'a,b\n');
    expect((await collect(store.list())).map((o) => o.key)).toEqual(['imported/deep/data.csv']);
    expect((await store.get('imported/deep/data.csv')).toString()).toBe('a,b\n');
    expect((await store.head('imported/deep/data.csv'))?.metadata).toBeUndefined();
  });

  it('during a slow put, has only a hidden temp file on disk, and no file under the key', async () => {
    const { dir, store } = fresh();
    const feed = handFedStream();
    const put = store.put('w/slow.bin', feed.stream);
    feed.push('partial');
    // The put creates the directory and its temp file asynchronously; under load that takes a while.
    const during = await eventually(async () => {
      const names = await ls(join(dir, 'w')).catch(() => []);
      return names.length > 0 ? names : undefined;
    });
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^\.fersweep-tmp-[0-9a-f]{16}$/);
    feed.push(' and the rest');
    feed.end();
    await put;
    expect(await ls(join(dir, 'w'))).toEqual(['slow.bin']);
  });

  it('removes the temp file when the body stream fails', async () => {
    const { dir, store } = fresh();
    await store.put('w/keep', 'x');
    const boom = new Error('boom');
    await expect(store.put('w/fail', byteStream(300_000, { failWith: boom }))).rejects.toBe(boom);
    expect(await ls(join(dir, 'w'))).toEqual(['keep']);
  });

  it('refuses a key that would need a file and a directory at the same path with InvalidKey', async () => {
    const { store } = fresh();
    await store.put('x', 'file');
    const err = await rejectsWith(store.put('x/y', 'under a file'), 'InvalidKey');
    expect(err.message).toContain("cannot hold both 'x' and 'x/…' keys");
    await store.put('d/e', 'inside');
    await rejectsWith(store.put('d', 'over a directory'), 'InvalidKey');
    expect((await store.get('d/e')).toString()).toBe('inside');
  });

  it('says NotFound for a key that names a directory', async () => {
    const { store } = fresh();
    await store.put('dir/file', 'x');
    await rejectsWith(store.get('dir'), 'NotFound');
    await rejectsWith(store.getStream('dir'), 'NotFound');
    expect(await store.head('dir')).toBeUndefined();
  });

  it('prunes directories left empty by deletes, but keeps the root', async () => {
    const { dir, store } = fresh();
    await store.put('deep/er/k', 'x', { metadata: { m: '1' } });
    await store.put('top', 'x');
    await store.delete('deep/er/k');
    expect(await ls(dir)).toEqual(['top']);
    await store.deletePrefix('');
    expect(await ls(dir)).toEqual([]);
  });

  it('lists nothing and finds nothing before its root directory exists', async () => {
    const { store } = fresh();
    expect(await collect(store.list())).toEqual([]);
    expect(await store.head('k')).toBeUndefined();
    expect(await store.deletePrefix('')).toBe(0);
  });

  it('has a file:// URL that round-trips through fromUrl, spaces and all', () => {
    const root = join(fixture.dir, 'with space');
    const store = new FileStore(root);
    expect(store.url).toBe(pathToFileURL(root).href);
    expect(store.url).toContain('with%20space');
    expect(FileStore.fromUrl(store.url).root).toBe(root);
    expect(new FileStore(`${root}/`).url).toBe(store.url);
  });

  it('rejects a relative root and a file URL with a host with InvalidUrl', async () => {
    await rejectsWith(() => new FileStore('relative/dir'), 'InvalidUrl');
    await rejectsWith(() => FileStore.fromUrl('file://server/share'), 'InvalidUrl');
  });
});
