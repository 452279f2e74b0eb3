/**
 * The wire format and the checks both bus kinds share: an event travels as its JSON (UTF-8),
 * validated against the TrialEvent contract on the way in and on the way out.
 */
import { createHash } from 'node:crypto';
import { NATS, TrialEvent } from '@fersweep/contracts';
import { assertSubjectFilter, subjectIsSubset } from './subjects.js';
import { MessagingError, type ConsumeOptions } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

type Issues = { path: PropertyKey[]; message: string }[];

function describeIssues(issues: Issues): string {
  const first = issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return issues.length > 3 ? `${first}; and ${issues.length - 3} more` : first;
}

/** The parsed event; MessagingError 'InvalidEvent' naming the first offending fields otherwise. */
export function validateEvent(event: unknown): TrialEvent {
  const parsed = TrialEvent.safeParse(event);
  if (parsed.success) return parsed.data;
  const id = typeof event === 'object' && event && 'id' in event ? ` '${String(event.id)}'` : '';
  throw new MessagingError('InvalidEvent', `invalid trial event${id}: ${describeIssues(parsed.error.issues)}`);
}

/** The subject an event is published on. */
export function subjectOf(event: TrialEvent): string {
  return NATS.trialSubject(event.sweep, event.trial, event.type);
}

export function encodeEvent(event: TrialEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** Decodes a stored payload: the event, or why it is not one (with the payload's `id` when it has one). */
export function decodeEvent(
  raw: Uint8Array,
  where: string,
): { event: TrialEvent; error?: undefined; id?: string } | { event?: undefined; error: MessagingError; id?: string } {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(raw));
  } catch (cause) {
    return {
      error: new MessagingError('InvalidEvent', `message ${where} is not UTF-8 JSON (${raw.length} bytes)`, undefined, {
        cause,
      }),
    };
  }
  const id = typeof json === 'object' && json && 'id' in json && typeof json.id === 'string' ? json.id : undefined;
  const parsed = TrialEvent.safeParse(json);
  if (parsed.success) return { event: parsed.data, id: parsed.data.id };
  return {
    id,
    error: new MessagingError(
      'InvalidEvent',
      `message ${where} is not a valid trial event: ${describeIssues(parsed.error.issues)}`,
    ),
  };
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i;

/** Removes user:password (and tokens) from every server URL in a comma-separated list. */
export function redactUrl(url: string): string {
  return url
    .split(',')
    .map((u) => u.trim().replace(USERINFO, '$1'))
    .join(',');
}

/**
 * Splits `nats://user:pass@host:4222,nats://host2:4222` (or `nats://token@host`) into servers and
 * credentials: nats.js takes credentials as options, not in the URL (nats.go and the nats CLI
 * accept them in the URL, and that is how a NATS_URL secret usually looks).
 */
export function parseServers(url: string): { servers: string[]; user?: string; pass?: string; token?: string } {
  const out: { servers: string[]; user?: string; pass?: string; token?: string } = { servers: [] };
  for (const part of url.split(',')) {
    const server = part.trim();
    if (!server) continue;
    const userinfo = USERINFO.exec(server)?.[2];
    out.servers.push(server.replace(USERINFO, '$1'));
    if (userinfo === undefined) continue;
    const colon = userinfo.indexOf(':');
    if (colon === -1) out.token = decodeURIComponent(userinfo);
    else {
      out.user = decodeURIComponent(userinfo.slice(0, colon));
      out.pass = decodeURIComponent(userinfo.slice(colon + 1));
    }
  }
  return out;
}

export const DEFAULTS = {
  maxInFlight: 64,
  ackWaitMs: 30_000,
  maxDeliver: 10,
} as const;

/** ConsumeOptions with defaults applied, checked the same way for both bus kinds. */
export interface ResolvedConsume {
  durable: string;
  filter: string;
  deliverFrom: 'all' | 'new';
  maxInFlight: number;
  ackWaitMs: number;
  maxDeliver: number;
}

export function resolveConsume(options: ConsumeOptions): ResolvedConsume {
  const { durable } = options;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable))
    throw new MessagingError('InvalidArgument', `invalid durable name '${durable}': 1-64 letters, digits, '-' or '_'`);
  const filter = options.filter ?? NATS.trialSubjects;
  assertSubjectFilter(filter);
  if (!subjectIsSubset(filter, NATS.trialSubjects))
    throw new MessagingError(
      'InvalidArgument',
      `subject filter '${filter}' is outside the trial stream's subjects '${NATS.trialSubjects}'`,
    );
  const positive = (name: keyof typeof DEFAULTS, v: number | undefined, min: number) => {
    const value = v ?? DEFAULTS[name];
    if (!Number.isInteger(value) || value < min)
      throw new MessagingError('InvalidArgument', `${name} must be an integer ≥ ${min}, got ${value}`);
    return value;
  };
  return {
    durable,
    filter,
    deliverFrom: options.deliverFrom ?? 'all',
    maxInFlight: positive('maxInFlight', options.maxInFlight, 1),
    // JetStream counts ack_wait in nanoseconds but the server rounds to its own timers; below a
    // few hundred ms redeliveries would race the consumer's own ack.
    ackWaitMs: positive('ackWaitMs', options.ackWaitMs, 100),
    maxDeliver: positive('maxDeliver', options.maxDeliver, 1),
  };
}

const KEY = /^[-/=.\w]+$/;

/** KV keys follow JetStream's rules in both stores, so data moves between them unchanged. */
export function assertKey(key: string): void {
  if (!KEY.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..'))
    throw new MessagingError(
      'InvalidArgument',
      `invalid key '${key}': dot-separated tokens of letters, digits and '-/_='`,
    );
}

/** KV revisions are stream sequences: positive integers. */
export function assertRevision(revision: number): void {
  if (!Number.isInteger(revision) || revision < 1)
    throw new MessagingError('InvalidArgument', `revision must be a positive integer, got ${revision}`);
}

export function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** A logger that drops everything: the default where none is given. */
export const silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The stream's dedupe key (`Nats-Msg-Id`): the event id, plus a tag derived from its launch when it
 * has one. Retries of one run dedupe as before; a client that does not know the launch's nonce cannot
 * publish an event under the same key first and so have the genuine one dropped as a duplicate.
 */
export function streamMsgId(event: TrialEvent): string {
  if (!event.launch) return event.id;
  const tag = createHash('sha256').update(`${event.launch.seq}\n${event.launch.nonce}`).digest('hex').slice(0, 16);
  return `${event.id}~${tag}`;
}
