/** How nats.js failures are classified and reported (one line, never a credential). */
import { JetStreamApiError } from '@nats-io/jetstream';
import { MessagingError } from './types.js';

export const isNamed = (err: unknown, ...names: string[]) => err instanceof Error && names.includes(err.name);
export const isClosedError = (err: unknown) => isNamed(err, 'ClosedConnectionError', 'DrainingConnectionError');
/**
 * Failures a retry can cure: the server is restarting, the client reconnecting, or JetStream not
 * up yet (js.publish reports "no responders" as JetStreamNotEnabled). Anything else (permissions,
 * limits) fails at once.
 */
export const isTransient = (err: unknown) =>
  isNamed(err, 'TimeoutError', 'NoResponders', 'ConnectionError', 'JetStreamNotEnabled') ||
  (err instanceof JetStreamApiError && err.status === 503);
export const isApiCode = (err: unknown, code: number) => err instanceof JetStreamApiError && err.code === code;

/** One line without credentials: nats.js messages can quote the server URL. */
export const reason = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).replace(/\/\/[^@\s/]*@/g, '//');

/** nats-server refused a publish or subscribe for this user (`authorization` permissions). */
export const isPermission = (err: unknown) =>
  isNamed(err, 'PermissionViolationError') || (err instanceof Error && /Permissions Violation/.test(err.message));

/**
 * A nats.js failure as MessagingError 'PermissionDenied', 'Closed' or 'Unavailable', naming what
 * could not be done.
 */
export function unavailable(url: string, what: string, err: unknown): MessagingError {
  if (err instanceof MessagingError) return err;
  if (isPermission(err))
    return new MessagingError(
      'PermissionDenied',
      `cannot ${what} on NATS at ${url}: ${reason(err)} (this component's NATS user lacks the permission; see natsPermissions)`,
      url,
      { cause: err },
    );
  if (isClosedError(err))
    return new MessagingError('Closed', `cannot ${what}: the connection to ${url} is closed`, url);
  return new MessagingError('Unavailable', `cannot ${what} on NATS at ${url}: ${reason(err)}`, url, { cause: err });
}
