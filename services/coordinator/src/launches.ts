/**
 * Launch records: before the coordinator starts a run of a trial it records the run's launch
 * (`launches.<sweep>.<trial>` in its KV bucket: the next seq and a fresh random nonce) and hands
 * the same launch to the trainer in its TrialSpec. Events are accepted only with the current
 * launch (`LaunchVerifier`, here for the coordinator's own consumer and in the evaluator): a client
 * that can publish trial events but was not launched as that trial — or a run the coordinator
 * replaced — cannot change its state or report. The nonce is never in a trial record, an API
 * response or a log line.
 */
import { randomBytes } from 'node:crypto';
import { LaunchRecord, launchKey, type TrialLaunch } from '@fersweep/contracts';
import { MessagingError, type KeyValueStore } from '@fersweep/messaging';

/** Records a new launch of `sweep/trial` (seq one above the last) and returns it. Compare-and-set. */
export async function recordLaunch(kv: KeyValueStore, sweep: string, trial: string): Promise<TrialLaunch> {
  const key = launchKey(sweep, trial);
  for (let tries = 0; ; tries++) {
    const current = await kv.get(key);
    let seq = 1;
    if (current) {
      const parsed = LaunchRecord.safeParse(safeJson(current.value));
      seq = parsed.success ? parsed.data.seq + 1 : 1;
    }
    const record: LaunchRecord = {
      seq,
      nonce: randomBytes(32).toString('base64url'),
      launchedAt: new Date().toISOString(),
    };
    try {
      if (current) await kv.update(key, JSON.stringify(record), current.revision);
      else await kv.create(key, JSON.stringify(record));
      return { seq: record.seq, nonce: record.nonce };
    } catch (err) {
      const raced = err instanceof MessagingError && (err.code === 'WrongRevision' || err.code === 'Exists');
      if (!raced || tries >= 5) throw err;
    }
  }
}

/** Deletes the launch records of a sweep's trials (purge, retention). */
export async function deleteLaunches(kv: KeyValueStore, sweep: string): Promise<void> {
  const keys: string[] = [];
  for await (const k of kv.keys(`launches.${sweep}.`)) keys.push(k);
  for (const k of keys) await kv.delete(k);
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
