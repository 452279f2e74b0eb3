/**
 * A sweep's `pretrained` URL is checked by the address the trainer connects to, not only by the name
 * admission saw (DNS rebinding: a public-looking name resolving to 127.0.0.1 or 169.254.169.254).
 * `localhost` stands in for such a name: it resolves to loopback at connect time. The landed tree
 * fetched it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openStore } from '@fersweep/storage';
import { ModelError } from '../variants/errors.js';
import { BlockedAddressError, guardedFetch, URL_PRIVATE_HOSTS_ENV } from './guarded-fetch.js';
import { resolveKerasWeights } from './keras-source.js';

let server: http.Server;
let port: number;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/hop') res.writeHead(302, { location: `http://127.0.0.1:${port}/w.h5` }).end();
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('weights');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const signal = () => AbortSignal.timeout(5000);

describe('guardedFetch', () => {
  it('refuses a host name that resolves to loopback, before any request is sent', async () => {
    requests.length = 0;
    const err = await guardedFetch({})(`http://localhost:${port}/w.h5`, { signal: signal() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect((err as Error).message).toMatch(/^localhost resolves to an address that is not public \(127\.0\.0\.1/);
    expect(requests).toEqual([]);
  });

  it('refuses the metadata address and private ones given as IP literals', async () => {
    for (const host of ['169.254.169.254', '10.1.2.3', '[::1]']) {
      const err = await guardedFetch({})(`http://${host}:${port}/w.h5`, { signal: signal() }).catch((e: unknown) => e);
      expect([host, err instanceof BlockedAddressError]).toEqual([host, true]);
    }
  });

  it('fetches from a host the operator allows, and checks every redirect hop again', async () => {
    requests.length = 0;
    const allowed = guardedFetch({ [URL_PRIVATE_HOSTS_ENV]: 'localhost' });
    const res = await allowed(`http://localhost:${port}/w.h5`, { signal: signal() });
    expect([res.status, await res.text()]).toEqual([200, 'weights']);
    // localhost is allowed; the redirect to 127.0.0.1 is not.
    const err = await allowed(`http://localhost:${port}/hop`, { signal: signal() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect((err as Error).message).toContain(`${URL_PRIVATE_HOSTS_ENV} allows localhost`);
    expect(requests).toEqual(['/w.h5', '/hop']);
  });

  it('is what resolveKerasWeights fetches a sweep’s URL with: a clear error, no retry, nothing read', async () => {
    requests.length = 0;
    const err = await resolveKerasWeights(
      `http://localhost:${port}/w.h5`,
      { alpha: 0.35, inputSize: 96 },
      { openStore },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect([(err as ModelError).code, (err as Error).message]).toEqual([
      'PretrainedUnavailable',
      expect.stringMatching(
        /^params\.pretrained: cannot download http:\/\/localhost:\d+\/w\.h5: localhost resolves to an address that is not public/,
      ),
    ]);
    expect(requests).toEqual([]);
  });
});
