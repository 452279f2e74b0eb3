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
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  chunkBytes,
  compareKeys,
  normalizeMetadata,
  RESERVED_SEGMENT_PREFIX,
  validateKey,
  validatePrefix,
  validateRange,
  validateSubPrefix,
} from './keys.js';
import { StoreError, type ObjectInfo, type ObjectStore, type PutOptions } from './types.js';

const META_DIR = `${RESERVED_SEGMENT_PREFIX}meta`;
const TMP_PREFIX = `${RESERVED_SEGMENT_PREFIX}tmp-`;
const SIDECAR_FORMAT = 'fersweep-object-meta/v1';
const DELETE_CONCURRENCY = 16;

/** What a sidecar holds; `etag` ties it to one version of the object (see etagOf). */
interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  etag: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

function isSidecar(value: unknown): value is Sidecar {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const metadataOk =
    v.metadata === undefined ||
    (typeof v.metadata === 'object' &&
      v.metadata !== null &&
      Object.values(v.metadata).every((x) => typeof x === 'string'));
  return (
    v.format === SIDECAR_FORMAT &&
    typeof v.etag === 'string' &&
    (v.contentType === undefined || typeof v.contentType === 'string') &&
    metadataOk
  );
}

/**
 * A version stamp from inode, size and nanosecond mtime. A rename keeps all three, so the stamp
 * taken on the temp file names the object that replaces the key; a later write gets a new inode.
 * A sidecar whose stamp differs from its object's is stale (a crash or a race between the two
 * renames) and is ignored: a reader may miss metadata for a moment, never get another version's.
 */
function etagOf(st: BigIntStats): string {
  return `${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}`;
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes(errnoOf(err) ?? '');

/** Marks an error thrown by the caller's body stream, which `put` passes on unchanged. */
class BodyStreamError {
  constructor(readonly error: unknown) {}
}

function fileUrl(path: string): string {
  const href = pathToFileURL(path).href;
  return href.endsWith('/') && href !== 'file:///' ? href.slice(0, -1) : href;
}

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
      throw this.#fsError(err, k, 'write');
    }
  }

  async get(key: string): Promise<Buffer> {
    const k = validateKey(key, this.url);
    try {
      return await readFile(this.#path(k));
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'EISDIR') throw this.#notFound(k, err);
      throw this.#fsError(err, k, 'read');
    }
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const k = validateKey(key, this.url);
    const r = validateRange(range, this.url);
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.#path(k), 'r');
      // Opening a directory succeeds on Linux; only reading it fails, too late to say NotFound.
      if (!(await fh.stat()).isFile()) throw this.#notFound(k);
      const stream = fh.createReadStream(r ? { start: r.start, end: r.end } : {});
      fh = undefined; // the stream owns it now and closes it at the end
      return stream;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      if (isMissing(err)) throw this.#notFound(k, err);
      throw this.#fsError(err, k, 'read');
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
      throw this.#fsError(err, k, 'read');
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
        throw this.#fsError(err, key, 'delete');
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
        if (code === 'ENOTDIR' || code === 'EEXIST') throw this.#conflict(key, err);
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
      throw this.#fsError(err, rel, 'list');
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
        throw this.#fsError(err, key, 'list');
      }
      // Symlinked directories are followed; their sort position is approximate ("name" not "name/").
      if (st.isDirectory()) {
        if (dirMatters) yield* this.#walk(key, prefix);
      } else if (st.isFile() && key.startsWith(prefix)) {
        yield { key, bytes: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
      }
    }
  }

  #notFound(key: string, cause?: unknown): StoreError {
    return new StoreError('NotFound', `no object '${key}' in ${this.url}`, this.url, { cause });
  }

  #conflict(key: string, cause: unknown): StoreError {
    return new StoreError(
      'InvalidKey',
      `key '${key}' clashes with an existing object in ${this.url}: a file store cannot hold both 'x' and 'x/…' keys`,
      this.url,
      { cause },
    );
  }

  #fsError(err: unknown, key: string, action: 'read' | 'write' | 'delete' | 'list'): StoreError {
    if (err instanceof StoreError) return err;
    const code = errnoOf(err) ?? 'unknown error';
    const where = `'${key}' in ${this.url}`;
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        return new StoreError(
          'AccessDenied',
          `permission denied to ${action} ${where} (${code}): check the directory's owner and mode`,
          this.url,
          { cause: err },
        );
      case 'EISDIR':
      case 'ENOTDIR':
      case 'EEXIST':
      case 'ENOTEMPTY':
        return this.#conflict(key, err);
      case 'ENOSPC':
      case 'EDQUOT':
      case 'EROFS':
      case 'EIO':
        return new StoreError(
          'Unavailable',
          `cannot ${action} ${where} (${code}): the filesystem is full, read-only or failing`,
          this.url,
          { cause: err },
        );
      default:
        return new StoreError('Internal', `failed to ${action} ${where} (${code})`, this.url, { cause: err });
    }
  }
}

/** Writes the whole body at the file's current position and returns its length in bytes. */
async function writeBody(fh: FileHandle, body: Uint8Array | string | Readable, url: string): Promise<number> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await fh.writeFile(bytes);
    return bytes.byteLength;
  }
  const chunks: AsyncIterator<unknown> = body[Symbol.asyncIterator]();
  let bytes = 0;
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await chunks.next();
      } catch (err) {
        finished = true;
        throw new BodyStreamError(err);
      }
      if (step.done) {
        finished = true;
        return bytes;
      }
      const chunk = chunkBytes(step.value, url);
      bytes += chunk.byteLength;
      await fh.writeFile(chunk);
    }
  } finally {
    // Stops and destroys the caller's stream when we fail on our side (disk full, bad chunk).
    if (!finished) await chunks.return?.();
  }
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isSidecar(parsed) ? parsed : undefined;
  } catch {
    return undefined; // absent, or torn by a tool that is not us: the object just has no metadata
  }
}

/** Makes a rename durable; some filesystems refuse to fsync a directory, which is no reason to fail a put. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
