import type { KeyValueStore } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';

/** Where a record that does not parse is kept: `quarantine.<timestamp>.<its key>`, same bucket. */
export const QUARANTINE_PREFIX = 'quarantine.';

/**
 * Moves aside every record under `prefixes` that `validate` refuses (a value written by hand or by
 * an older version, a torn write), so that the coordinator starts and serves the others — the NATS
 * KV counterpart of the file store's `<file>.corrupt-<timestamp>` (issue 12: "a record that does
 * not parse is quarantined with a log line, never a failed start").
 *
 * The bytes are copied to `quarantine.<timestamp>.<key>` in the same bucket (kept for inspection, as
 * the file store keeps its file; the coordinator's NATS user already owns the bucket, and the
 * evaluator's may read only `launches.`), then the key is deleted — unless it changed meanwhile
 * (another replica rewrote it), in which case it is left alone. One warning per record. Returns the
 * keys quarantined.
 */
export async function quarantineRecords(
  kv: KeyValueStore,
  validate: (key: string, value: Uint8Array) => void,
  options: { prefixes: string[]; logger?: Pick<Logger, 'warn'>; now?: Date },
): Promise<string[]> {
  const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const prefix of options.prefixes) {
    const keys: string[] = [];
    for await (const key of kv.keys(prefix)) keys.push(key);
    for (const key of keys) {
      const entry = await kv.get(key);
      if (!entry) continue;
      try {
        validate(key, entry.value);
        continue;
      } catch (err) {
        const aside = `${QUARANTINE_PREFIX}${stamp}.${key}`;
        await kv.put(aside, entry.value);
        const again = await kv.get(key);
        if (again?.revision !== entry.revision) continue;
        await kv.delete(key);
        moved.push(key);
        options.logger?.warn('state record does not parse: moved aside', {
          key,
          movedTo: `${kv.bucket}/${aside}`,
          error: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300),
        });
      }
    }
  }
  return moved;
}
