import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createLogger, redact } from './logger.js';
import { createRegistry } from './metrics.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
  return { stream, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service and default ids', async () => {
    const { stream, lines } = capture();
    const log = createLogger({ service: 'trainer', defaults: { sweep: 's1', trial: 't1' }, stream });
    log.info('epoch done', { epoch: 3 });
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({
      level: 'info',
      message: 'epoch done',
      service: 'trainer',
      sweep: 's1',
      trial: 't1',
      epoch: 3,
    });
    expect(line.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('never writes secrets: secret-named fields at any depth and credentials in URLs', async () => {
    const { stream, lines } = capture();
    const log = createLogger({ service: 'coordinator', stream });
    log.info('connecting to nats://admin:hunter2@nats:4222', {
      config: { AWS_SECRET_ACCESS_KEY: 'abc123', apiTokens: ['t0k3n'], nested: { password: 'p' }, region: 'eu' },
      authorization: 'Bearer xyz',
    });
    await new Promise((r) => setImmediate(r));
    const text = lines.join('\n');
    for (const secret of ['hunter2', 'abc123', 't0k3n', '"p"', 'xyz']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0]!).config.region).toBe('eu');
  });

  it('redact leaves harmless values alone', () => {
    expect(redact({ sweep: 'a', epochs: 3, url: 's3://bucket/x' })).toEqual({
      sweep: 'a',
      epochs: 3,
      url: 's3://bucket/x',
    });
  });
});

describe('createRegistry', () => {
  it('is a private registry with prefixed default metrics', async () => {
    const a = createRegistry({ service: 'evaluator' });
    const b = createRegistry({ service: 'evaluator', defaultMetrics: false });
    expect(await a.metrics()).toMatch(/fersweep_evaluator_process_cpu_seconds_total/);
    expect(await b.metrics()).toBe('\n');
  });
});
