/**
 * Least privilege on NATS: one user per component with subject permissions, rendered as a
 * nats-server `authorization { users [...] }` block (the chart and the tests use the same text).
 *
 * - trainer: publishes its own kinds of trial events (started, epoch, evaluated, completed, failed)
 *   and receives the JetStream acks on its own inbox prefix; it can read nothing else — no stream,
 *   no consumer, no KV, no other component's replies.
 * - coordinator: manages the trial stream and its KV bucket, consumes as `fersweep-coordinator`,
 *   publishes the events only it may send (`trial.stopped`).
 * - evaluator: consumes as `fersweep-evaluator` and reads the coordinator's launch records
 *   (`launches.*` keys of its KV bucket) to reject forged or stale events.
 *
 * JetStream subjects are from nats-server's API (`$JS.API.…`, `$KV.<bucket>.<key>`,
 * `$JS.ACK.<stream>.<durable>.…`, `$JS.FC.…` for ordered consumers' flow control).
 */
import { COORDINATOR_BUCKET, NATS, type TrialEventType } from '@fersweep/contracts';

export type NatsComponent = 'coordinator' | 'evaluator' | 'trainer';

/** Each component's reply-subject prefix (NatsBusOptions.inboxPrefix). */
export const NATS_INBOX: Record<NatsComponent, string> = {
  coordinator: '_INBOX_coordinator',
  evaluator: '_INBOX_evaluator',
  trainer: '_INBOX_trainer',
};

/** Event types a trainer sends; the others (`trial.stopped`) are the coordinator's. */
export const TRAINER_EVENT_TYPES: readonly TrialEventType[] = [
  'trial.started',
  'trial.epoch',
  'trial.evaluated',
  'trial.completed',
  'trial.failed',
];
export const COORDINATOR_EVENT_TYPES: readonly TrialEventType[] = ['trial.stopped'];

export interface SubjectPermissions {
  publish: string[];
  subscribe: string[];
}

const eventSubject = (type: TrialEventType) => NATS.trialSubject('*', '*', type);

/** The allow lists of each component (nothing else is allowed). */
export function natsPermissions(
  options: { bucket?: string; stream?: string } = {},
): Record<NatsComponent, SubjectPermissions> {
  const stream = options.stream ?? NATS.trialStream;
  const bucket = options.bucket ?? COORDINATOR_BUCKET;
  const kvStream = `KV_${bucket}`;
  const consumerOf = (durable: string) => [
    `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
  const streamSetup = ['INFO', 'CREATE', 'UPDATE'].map((op) => `$JS.API.STREAM.${op}.${stream}`);
  return {
    trainer: {
      publish: TRAINER_EVENT_TYPES.map(eventSubject),
      subscribe: [`${NATS_INBOX.trainer}.>`],
    },
    coordinator: {
      publish: [
        ...COORDINATOR_EVENT_TYPES.map(eventSubject),
        '$JS.API.INFO',
        ...streamSetup,
        `$JS.API.STREAM.PURGE.${stream}`,
        ...consumerOf('fersweep-coordinator'),
        // Its KV bucket: create/inspect, get (direct and classic), put/create/update/delete, and the
        // ordered consumers behind keys() and watch().
        `$JS.API.STREAM.*.${kvStream}`,
        `$JS.API.STREAM.MSG.GET.${kvStream}`,
        `$JS.API.DIRECT.GET.${kvStream}`,
        `$JS.API.DIRECT.GET.${kvStream}.>`,
        `$JS.API.CONSUMER.*.${kvStream}`,
        `$JS.API.CONSUMER.*.${kvStream}.>`,
        `$KV.${bucket}.>`,
        '$JS.FC.>',
      ],
      subscribe: [`${NATS_INBOX.coordinator}.>`],
    },
    evaluator: {
      publish: [
        '$JS.API.INFO',
        ...streamSetup,
        ...consumerOf('fersweep-evaluator'),
        // Read-only: the launch records, nothing else of the coordinator's state.
        `$JS.API.STREAM.INFO.${kvStream}`,
        `$JS.API.DIRECT.GET.${kvStream}.$KV.${bucket}.launches.>`,
      ],
      subscribe: [`${NATS_INBOX.evaluator}.>`],
    },
  };
}

export interface NatsUser {
  user: string;
  password: string;
}

/** nats-server's quoted string (double quotes, backslash escapes). */
const quote = (s: string) => JSON.stringify(s);

/**
 * The nats-server `authorization` block for the three components (users with passwords: the chart
 * keeps them in one Secret per component; nats-server also accepts bcrypt hashes here).
 */
export function natsAuthorizationConfig(
  users: Record<NatsComponent, NatsUser>,
  options: { bucket?: string; stream?: string } = {},
): string {
  const perms = natsPermissions(options);
  const list = (xs: string[]) => `[${xs.map(quote).join(', ')}]`;
  const entries = (Object.keys(users) as NatsComponent[]).map((c) => {
    const p = perms[c];
    return (
      `    { user: ${quote(users[c].user)}, password: ${quote(users[c].password)},\n` +
      `      permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} } } }`
    );
  });
  return `authorization {\n  users [\n${entries.join(',\n')}\n  ]\n}\n`;
}
