import { isIP } from 'node:net';

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
 * Where the API listens: an explicit host (`--host`, then FERSWEEP_HOST) wins; otherwise every
 * interface when tokens are configured, and loopback only when they are not — an unauthenticated
 * API is never reachable from the network unless someone asked for exactly that.
 */
export function chooseListenHost(o: { explicit?: string; configured?: string; authenticated: boolean }): ListenChoice {
  const chosen = o.explicit ?? o.configured;
  if (chosen === undefined) return { host: o.authenticated ? '0.0.0.0' : '127.0.0.1' };
  if (o.authenticated || isLoopback(chosen)) return { host: chosen };
  return {
    host: chosen,
    warning:
      `the API listens on ${chosen} WITHOUT authentication: anyone who can reach it can start and cancel sweeps. ` +
      'Set FERSWEEP_API_TOKENS, or unset FERSWEEP_HOST to listen on 127.0.0.1 only',
  };
}
