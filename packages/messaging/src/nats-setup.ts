/**
 * The JetStream objects a bus needs, created or checked at use: the trial stream and each durable
 * pull consumer (nats-server 2.9 silently updates an existing durable, so the checks are done here).
 */
import { NATS } from '@fersweep/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ResolvedConsume } from './codec.js';
import { isApiCode } from './nats-errors.js';
import { subjectIsSubset } from './subjects.js';
import { MessagingError, type Logger } from './types.js';

/** Creates the trial stream, or updates it to cover the trial subjects with this duplicate window. */
export async function ensureStream(jsm: JetStreamManager, duplicateWindowMs: number, logger: Logger): Promise<void> {
  const name = NATS.trialStream;
  const duplicate_window = nanos(duplicateWindowMs);
  const want = {
    name,
    subjects: [NATS.trialSubjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window,
  };
  let info;
  try {
    info = await jsm.streams.info(name);
  } catch (err) {
    if (!isApiCode(err, JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add(want);
      logger.info(`created stream ${name}`, { stream: name, subjects: want.subjects });
      return;
    } catch (addErr) {
      // Another process created it between our info and add: fall through and check it.
      info = await jsm.streams.info(name).catch(() => {
        throw addErr;
      });
    }
  }
  const subjects = info.config.subjects ?? [];
  const covered = subjects.some((s) => subjectIsSubset(NATS.trialSubjects, s));
  if (!covered || info.config.duplicate_window !== duplicate_window) {
    await jsm.streams.update(name, {
      subjects: covered ? subjects : [...subjects, NATS.trialSubjects],
      duplicate_window,
    });
    logger.info(`updated stream ${name}`, { stream: name, duplicateWindowMs });
  }
  if (info.config.storage !== StorageType.File)
    logger.warn(`stream ${name} uses ${info.config.storage} storage: events are lost when the server restarts`);
}

/** Creates the durable consumer, or checks its filter and updates its tunables. */
export async function ensureConsumer(jsm: JetStreamManager, c: ResolvedConsume, logger: Logger): Promise<void> {
  const stream = NATS.trialStream;
  const tunables = { ack_wait: nanos(c.ackWaitMs), max_deliver: c.maxDeliver, max_ack_pending: c.maxInFlight };
  let info;
  try {
    info = await jsm.consumers.info(stream, c.durable);
  } catch (err) {
    if (!isApiCode(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    const config: Partial<ConsumerConfig> = {
      durable_name: c.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: c.deliverFrom === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      filter_subject: c.filter,
      ...tunables,
    };
    info = await jsm.consumers.add(stream, config);
    logger.info(`created durable consumer ${c.durable}`, { durable: c.durable, filter: c.filter });
  }
  const filter = info.config.filter_subject || NATS.trialSubjects;
  // nats-server 2.9 would silently re-filter an existing durable; a different filter under the
  // same name is almost always two consumers colliding, so refuse it.
  if (filter !== c.filter)
    throw new MessagingError(
      'ConsumerConflict',
      `durable '${c.durable}' exists with filter '${filter}', not '${c.filter}': use another durable name`,
    );
  if (
    info.config.ack_wait !== tunables.ack_wait ||
    info.config.max_deliver !== tunables.max_deliver ||
    info.config.max_ack_pending !== tunables.max_ack_pending
  )
    await jsm.consumers.update(stream, c.durable, tunables);
}
