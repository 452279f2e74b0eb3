import { describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { startNats, startS3 } from './servers.js';

const reachable = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });

describe('test servers', () => {
  it('starts nats-server with JetStream on a free port and stops it', async () => {
    const nats = await startNats();
    expect(await reachable(nats.port)).toBe(true);
    await nats.stop();
    expect(await reachable(nats.port)).toBe(false);
  });
  it('starts an S3 server that answers the S3 protocol', async () => {
    const s3 = await startS3();
    const res = await fetch(`${s3.url}/`);
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).toContain('ListAllMyBucketsResult');
    await s3.stop();
  });
});
