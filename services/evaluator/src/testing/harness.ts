/** Test helpers: temporary stores, stores that fail or die on cue, a logger whose lines can be read. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@fersweep/observability';
import { FileStore, StoreError, type ObjectStore } from '@fersweep/storage';

/** A file store in a fresh temp dir; `cleanup()` removes it. */
export async function tempStore(): Promise<{ store: FileStore; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-evaluator-'));
  return { store: new FileStore(dir), dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ service: 'evaluator', level, stream }), lines: () => lines };
}

/**
 * A store whose `put` can be made to fail (`failPuts(n)`: the next n puts), or that dies for good
 * (`sever()`: every call fails, as for a process that was killed).
 */
export function controllableStore(inner: ObjectStore): {
  store: ObjectStore;
  failPuts: (n: number) => void;
  sever: () => void;
} {
  let failing = 0;
  let severed = false;
  const dead = () => new StoreError('Unavailable', 'store severed by the test');
  const wrap = (s: ObjectStore): ObjectStore => ({
    get url() {
      return s.url;
    },
    async put(key, body, options) {
      if (severed) throw dead();
      if (failing > 0) {
        failing--;
        throw new StoreError('Unavailable', `put ${key} failed on cue`);
      }
      return s.put(key, body, options);
    },
    async get(key) {
      if (severed) throw dead();
      return s.get(key);
    },
    async getStream(key, range) {
      if (severed) throw dead();
      return s.getStream(key, range);
    },
    async head(key) {
      if (severed) throw dead();
      return s.head(key);
    },
    list(prefix) {
      if (severed) throw dead();
      return s.list(prefix);
    },
    async delete(key) {
      if (severed) throw dead();
      return s.delete(key);
    },
    async deletePrefix(prefix) {
      if (severed) throw dead();
      return s.deletePrefix(prefix);
    },
    sub(prefix) {
      return wrap(s.sub(prefix));
    },
  });
  return {
    store: wrap(inner),
    failPuts: (n) => (failing = n),
    sever: () => (severed = true),
  };
}

/** Polls `fn` until it returns a value other than undefined; throws after `timeoutMs` with `what`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
