import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createMemoryKv, type KeyValueStore, type KvWatch, type KvWatchOptions } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';

export interface FileKvOptions {
  bucket?: string;
  /** Hears one warning per quarantined file. */
  logger?: Pick<Logger, 'warn'>;
  /** Throws for a value that must not be loaded (it is quarantined instead). Default: any bytes load. */
  validate?: (key: string, value: Uint8Array) => void;
}

const TMP = '.tmp-';
const CORRUPT = '.corrupt-';

/** fsync a file or folder by path (a folder's entry list is durable only once the folder is synced). */
async function syncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let seq = 0;

/**
 * A key-value store kept in memory and written through to one file per key under `dir`, so that a
 * process can stop at any moment and reopen it:
 *
 * - every write is crash-safe: a private temp file is written and fsync'ed, renamed over the
 *   key's file, and the folder fsync'ed — a crash leaves the old value or the new, never a torn one;
 * - writes of one key are applied in order (a slow write never lands after a newer one);
 * - at open, a file that does not parse (`validate` throws: a torn write from an older version, a
 *   disk error, an edit by hand) is moved aside to `<file>.corrupt-<timestamp>` with one warning,
 *   and the store opens without it; temp files of interrupted writes are removed.
 *
 * One process owns the folder at a time.
 */
export async function openFileBackedKv(dir: string, options: FileKvOptions = {}): Promise<KeyValueStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const mem = createMemoryKv(options.bucket ?? 'fersweep');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const f of (await readdir(dir)).sort()) {
    if (f.includes(TMP)) {
      await rm(join(dir, f), { force: true });
      continue;
    }
    if (!f.endsWith('.json') || f.includes(CORRUPT)) continue;
    const key = decodeURIComponent(f.slice(0, -5));
    const value = await readFile(join(dir, f));
    try {
      options.validate?.(key, value);
    } catch (err) {
      const moved = `${f}${CORRUPT}${stamp}`;
      await rename(join(dir, f), join(dir, moved));
      options.logger?.warn('state record does not parse: moved aside', {
        key,
        file: join(dir, moved),
        error: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300),
      });
      continue;
    }
    await mem.put(key, value);
  }
  await syncPath(dir);

  const file = (key: string) => join(dir, `${encodeURIComponent(key)}.json`);
  // Group commit of the folder's fsync: renames that land while one sync runs share the next.
  let syncing: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const syncDir = (): Promise<void> => {
    if (queued) return queued;
    const after = syncing ?? Promise.resolve();
    const next: Promise<void> = after
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        syncing = next;
        return syncPath(dir);
      })
      .finally(() => {
        if (syncing === next) syncing = undefined;
      });
    queued = next;
    return next;
  };
  const chains = new Map<string, Promise<void>>();
  /** Runs `write` after every earlier write of `key`. */
  const inOrder = (key: string, write: () => Promise<void>): Promise<void> => {
    const next = (chains.get(key) ?? Promise.resolve()).then(write, write);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    chains.set(key, tail);
    void tail.then(() => chains.get(key) === tail && chains.delete(key));
    return next;
  };
  const persist = (key: string, value: Uint8Array | string) =>
    inOrder(key, async () => {
      const tmp = `${file(key)}${TMP}${process.pid}-${seq++}`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(value);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file(key));
      await syncDir();
    });
  const remove = (key: string) =>
    inOrder(key, async () => {
      await rm(file(key), { force: true });
      await syncDir();
    });
  return {
    bucket: mem.bucket,
    get: (key) => mem.get(key),
    keys: (prefix) => mem.keys(prefix),
    watch: (watchOptions?: KvWatchOptions): Promise<KvWatch> => mem.watch(watchOptions),
    async put(key, value) {
      const rev = await mem.put(key, value);
      await persist(key, value);
      return rev;
    },
    async create(key, value) {
      const rev = await mem.create(key, value);
      await persist(key, value);
      return rev;
    },
    async update(key, value, revision) {
      const rev = await mem.update(key, value, revision);
      await persist(key, value);
      return rev;
    },
    async delete(key) {
      await mem.delete(key);
      await remove(key);
    },
  };
}
