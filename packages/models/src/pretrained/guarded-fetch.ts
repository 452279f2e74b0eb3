/**
 * GET of a URL a sweep supplied (`params.pretrained: https://…/x.h5`), refused at connect time when
 * the address it resolves to is loopback, link-local (cloud metadata: 169.254.169.254), private,
 * unspecified or otherwise not public unicast. Admission checks the URL's host name, but a name can
 * resolve to anything when the trainer connects (DNS rebinding): the check has to sit on the socket.
 * request-filtering-agent (maintained, ipaddr.js ranges) validates every address the agent connects
 * to, after DNS and for IP literals alike; every redirect hop goes through it again.
 *
 * Hosts named in FERSWEEP_URL_PRIVATE_HOSTS (comma-separated, set by the operator, e.g. an in-cluster
 * mirror) may resolve to private addresses; loopback-and-metadata-by-name remain the admission's call.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

/** Operator's list of host names allowed to resolve to private addresses. */
export const URL_PRIVATE_HOSTS_ENV = 'FERSWEEP_URL_PRIVATE_HOSTS';

/** A connection the guard refused: `code` for callers, the message names the host and the address. */
export class BlockedAddressError extends Error {
  readonly code = 'BlockedAddress';
}

const MAX_REDIRECTS = 5;
const strict = { http: new RequestFilteringHttpAgent(), https: new RequestFilteringHttpsAgent() };
const lenient = {
  http: new RequestFilteringHttpAgent({ allowPrivateIPAddress: true }),
  https: new RequestFilteringHttpsAgent({ allowPrivateIPAddress: true }),
};

const privateHosts = (env: NodeJS.ProcessEnv): Set<string> =>
  new Set(
    (env[URL_PRIVATE_HOSTS_ENV] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );

function get(url: URL, signal: AbortSignal | undefined, env: NodeJS.ProcessEnv): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  const agents = privateHosts(env).has(url.hostname.replace(/^\[|\]$/g, '').toLowerCase()) ? lenient : strict;
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      agent: https ? agents.https : agents.http,
      ...(signal ? { signal } : {}),
    });
    req.once('response', resolve);
    req.once('error', (err) =>
      reject(
        /is not allowed\. Because/.test(err.message)
          ? new BlockedAddressError(
              `${url.hostname} resolves to an address that is not public (${err.message.replace(/^DNS lookup /, '')}): ` +
                `loopback, link-local, metadata and private addresses are refused` +
                (env[URL_PRIVATE_HOSTS_ENV] === undefined
                  ? ''
                  : `; ${URL_PRIVATE_HOSTS_ENV} allows ${[...privateHosts(env)].join(', ') || 'none'}`),
            )
          : err,
      ),
    );
    req.end();
  });
}

/**
 * A `fetch` (GET only) over http(s) whose every connection — redirects included — is checked by
 * address. Throws BlockedAddressError for a refused address.
 */
export function guardedFetch(env: NodeJS.ProcessEnv = process.env): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url = new URL(input instanceof Request ? input.url : String(input));
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new TypeError(`only http(s) URLs are fetched, not ${url.protocol}`);
      const res = await get(url, init?.signal ?? undefined, env);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects from ${String(input)}`);
        url = new URL(location, url);
        continue;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      const body = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
    }
  }) as typeof fetch;
}
