/**
 * HTTP access shared by the coordinator and the evaluator: the constant-time bearer check and the
 * choice of listen address (loopback only while no token is configured). Framework-free: each
 * service answers a refusal in its own problem+json shape.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Bearer-token check in constant time: every configured token is compared (as sha256 digests, so
 * lengths never leak), whether or not an earlier one matched.
 */
export function tokenChecker(tokens: readonly string[]): (header: string | undefined) => boolean {
  const digests = tokens.map((t) => createHash('sha256').update(t).digest());
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    return ok && m !== null;
  };
}

/** The `WWW-Authenticate` value of a 401 (RFC 6750). */
export const BEARER_CHALLENGE = 'Bearer realm="fersweep"';

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export interface ListenChoice {
  host: string;
  /** Set when the API listens beyond this machine without authentication: log it loudly. */
  warning?: string;
}

/**
 * Where an API listens: an explicit host (`--host`, then FERSWEEP_HOST) wins; otherwise every
 * interface when tokens are configured, and loopback only when they are not — an unauthenticated
 * API is never reachable from the network unless someone asked for exactly that. `exposes` says
 * what an anonymous caller could then do (for the warning).
 */
export function chooseListenHost(o: {
  explicit?: string;
  configured?: string;
  authenticated: boolean;
  exposes?: string;
}): ListenChoice {
  const chosen = o.explicit ?? o.configured;
  if (chosen === undefined) return { host: o.authenticated ? '0.0.0.0' : '127.0.0.1' };
  if (o.authenticated || isLoopback(chosen)) return { host: chosen };
  return {
    host: chosen,
    warning:
      `the API listens on ${chosen} WITHOUT authentication: anyone who can reach it can ${o.exposes ?? 'start and cancel sweeps'}. ` +
      'Set FERSWEEP_API_TOKENS, or unset FERSWEEP_HOST to listen on 127.0.0.1 only',
  };
}
