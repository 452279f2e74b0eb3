/**
 * The embedded-mode store: objects are plain files under a root directory, so any tool can read
 * them. Layout, for key `a/b/c.bin` under root `/data`:
 *
 *   /data/a/b/c.bin                      the object's bytes, nothing else
 *   /data/a/b/.fersweep-meta/c.bin       its sidecar (JSON, only when it has metadata or a content type)
 *   /data/a/b/.fersweep-tmp-<random>     a write in progress (renamed over c.bin when complete)
 *
 * The sidecar lives beside the object rather than under the root, so stores opened at different
 * depths (`file:///data` and `file:///data/a`) agree on every object's metadata. Names starting
 * with `.fersweep-` are reserved: `list` skips them and no key may contain one.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { conflictError, errnoOf, fsError, isMissing, notFoundError } from './file-errors.js';
import { BodyStreamError, fileUrl, syncDir, writeBody } from './file-io.js';
import { etagOf, META_DIR, readSidecar, SIDECAR_FORMAT, TMP_PREFIX, type Sidecar } from './file-sidecar.js';
import {
  compareKeys,
  normalizeMetadata,
  RESERVED_SEGMENT_PREFIX,
  validateKey,
  validatePrefix,
  validateRange,
  validateSubPrefix,
} from './keys.js';
import { StoreError, type ObjectInfo, type ObjectStore, type PutOptions } from './types.js';

const DELETE_CONCURRENCY = 16;

/** A store of plain files under one directory (`file:///abs/path`). */
export class FileStore implements ObjectStore {
  /** `file:///abs/path`, no trailing slash. */
  readonly url: string;
  /** The absolute directory holding this store's objects (created on the first put). */
  readonly root: string;

  /** @param root an absolute directory; it need not exist yet. */
  constructor(root: string) {
    if (!isAbsolute(root)) {
      throw new StoreError(
        'InvalidUrl',
        `file store root '${root}' is not absolute: pass an absolute path or file:///absolute/path`,
      );
    }
    this.root = resolve(root);
    this.url = fileUrl(this.root);
  }

  /** Opens `file:///abs/path` (percent-encoded like any file URL). */
  static fromUrl(url: string): FileStore {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new StoreError(
        'InvalidUrl',
        `invalid file store URL '${url}': use file:///absolute/path (three slashes) or a plain path`,
        url,
        { cause: err },
      );
    }
    return new FileStore(path);
  }

  async put(key: string, body: Uint8Array | string | Readable, options: PutOptions = {}): Promise<ObjectInfo> {
    const k = validateKey(key, this.url);
    const metadata = normalizeMetadata(options.metadata, this.url);
    const path = this.#path(k);
    const dir = dirname(path);
    const name = basename(path);
    let tmp: string | undefined;
    try {
      const created = await this.#createTemp(dir, k);
      tmp = created.path;
      const fh = created.fh;
      let st: BigIntStats;
      let bytes: number;
      try {
        bytes = await writeBody(fh, body, this.url);
        // The data must be on disk before the rename publishes it, or a crash could leave the
        // key pointing at an empty or partial file.
        await fh.sync();
        st = await fh.stat({ bigint: true });
      } finally {
        await fh.close();
      }
      const etag = etagOf(st);
      const sidecarPath = join(dir, META_DIR, name);
      const hasSidecar = options.contentType !== undefined || metadata !== undefined;
      if (hasSidecar) {
        const sidecar: Sidecar = { format: SIDECAR_FORMAT, etag, contentType: options.contentType, metadata };
        await this.#writeSidecar(sidecarPath, k, sidecar);
      }
      await rename(tmp, path);
      tmp = undefined;
      // Correctness does not depend on this removal (a stale sidecar's etag no longer matches),
      // it only keeps the old version's metadata from lingering on disk.
      if (!hasSidecar) await rm(sidecarPath, { force: true });
      await syncDir(dir);
      return {
        key: k,
        bytes,
        etag,
        lastModified: new Date(Number(st.mtimeMs)),
        ...(metadata && { metadata }),
        ...(options.contentType !== undefined && { contentType: options.contentType }),
      };
    } catch (err) {
      if (tmp) await rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof BodyStreamError) throw err.error;
      throw fsError(this.url, err, k, 'write');
    }
  }

  async get(key: string): Promise<Buffer> {
    const k = validateKey(key, this.url);
    try {
      return await readFile(this.#path(k));
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'EISDIR') throw notFoundError(this.url, k, err);
      throw fsError(this.url, err, k, 'read');
    }
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const k = validateKey(key, this.url);
    const r = validateRange(range, this.url);
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.#path(k), 'r');
      // Opening a directory succeeds on Linux; only reading it fails, too late to say NotFound.
      if (!(await fh.stat()).isFile()) throw notFoundError(this.url, k);
      const stream = fh.createReadStream(r ? { start: r.start, end: r.end } : {});
      fh = undefined; // the stream owns it now and closes it at the end
      return stream;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      if (isMissing(err)) throw notFoundError(this.url, k, err);
      throw fsError(this.url, err, k, 'read');
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const k = validateKey(key, this.url);
    const path = this.#path(k);
    let st: BigIntStats;
    try {
      st = await stat(path, { bigint: true });
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw fsError(this.url, err, k, 'read');
    }
    if (!st.isFile()) return undefined;
    const etag = etagOf(st);
    const sidecar = await readSidecar(join(dirname(path), META_DIR, basename(path)));
    const current = sidecar?.etag === etag ? sidecar : undefined;
    return {
      key: k,
      bytes: Number(st.size),
      etag,
      lastModified: new Date(Number(st.mtimeMs)),
      ...(current?.metadata && { metadata: current.metadata }),
      ...(current?.contentType !== undefined && { contentType: current.contentType }),
    };
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    const p = validatePrefix(prefix, this.url);
    const slash = p.lastIndexOf('/');
    yield* this.#walk(slash >= 0 ? p.slice(0, slash) : '', p);
  }

  async delete(key: string): Promise<void> {
    const k = validateKey(key, this.url);
    await this.#deleteFile(k);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const p = validatePrefix(prefix, this.url);
    // Collect first: deleting while walking would prune directories the walk has yet to read.
    const keys: string[] = [];
    for await (const info of this.list(p)) keys.push(info.key);
    let deleted = 0;
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++];
        if (key !== undefined && (await this.#deleteFile(key))) deleted++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
    return deleted;
  }

  sub(prefix: string): FileStore {
    const p = validateSubPrefix(prefix, this.url);
    return p === '' ? this : new FileStore(this.#path(p));
  }

  #path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /** Removes one object and its sidecar; true when there was an object to remove. */
  async #deleteFile(key: string): Promise<boolean> {
    const path = this.#path(key);
    let removed = false;
    try {
      await unlink(path);
      removed = true;
    } catch (err) {
      // A directory at the key means other keys live under it, not that this object exists
      // (unlink says EISDIR on Linux, EPERM on macOS).
      const code = errnoOf(err);
      if (!isMissing(err) && code !== 'EISDIR' && code !== 'EPERM') {
        throw fsError(this.url, err, key, 'delete');
      }
    }
    const dir = dirname(path);
    await rm(join(dir, META_DIR, basename(path)), { force: true }).catch(() => undefined);
    await this.#pruneEmptyDirs(dir);
    return removed;
  }

  /** Removes now-empty directories from `dir` up to (not including) the root; S3 has no empty folders to keep. */
  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = dirname(d)) {
      await rmdir(join(d, META_DIR)).catch(() => undefined);
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): the ones above are not empty either
      }
    }
  }

  /** Creates an exclusive temp file in `dir`, making the directories on the way. */
  async #createTemp(dir: string, key: string): Promise<{ path: string; fh: FileHandle }> {
    // A concurrent delete may prune a directory between our mkdir and open; try again then.
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'ENOTDIR' || code === 'EEXIST') throw conflictError(this.url, key, err);
        throw err;
      }
      const path = join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
      try {
        return { path, fh: await open(path, 'wx') };
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  async #writeSidecar(path: string, key: string, sidecar: Sidecar): Promise<void> {
    const { path: tmp, fh } = await this.#createTemp(dirname(path), key);
    try {
      try {
        await fh.writeFile(JSON.stringify(sidecar));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Yields the objects under directory `rel` whose keys start with `prefix`, in key order. */
  async *#walk(rel: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(rel === '' ? this.root : this.#path(rel), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw fsError(this.url, err, rel, 'list');
    }
    // A directory's keys continue with '/', so it sorts as "name/": 'a-b' < 'a/x' < 'a0'.
    const items = entries
      .filter((e) => !e.name.startsWith(RESERVED_SEGMENT_PREFIX))
      .map((e) => ({ name: e.name, dir: e.isDirectory(), link: e.isSymbolicLink() }))
      .map((e) => ({ ...e, sortKey: e.dir ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      const key = rel === '' ? item.name : `${rel}/${item.name}`;
      const asDir = `${key}/`;
      const dirMatters = asDir.startsWith(prefix) || prefix.startsWith(asDir);
      if (item.dir) {
        if (dirMatters) yield* this.#walk(key, prefix);
        continue;
      }
      if (!key.startsWith(prefix) && !(item.link && dirMatters)) continue;
      let st: BigIntStats;
      try {
        st = await stat(this.#path(key), { bigint: true });
      } catch (err) {
        if (isMissing(err)) continue; // deleted since readdir
        throw fsError(this.url, err, key, 'list');
      }
      // Symlinked directories are followed; their sort position is approximate ("name" not "name/").
      if (st.isDirectory()) {
        if (dirMatters) yield* this.#walk(key, prefix);
      } else if (st.isFile() && key.startsWith(prefix)) {
        yield { key, bytes: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
      }
    }
  }
}
