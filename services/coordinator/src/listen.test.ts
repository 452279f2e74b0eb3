import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '@fersweep/observability';
import { chooseListenHost, isLoopback } from '@fersweep/observability';
import { startCoordinator, type Coordinator } from './main.js';

let dir: string;
let coordinator: Coordinator | undefined;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-listen-'))));
afterEach(async () => {
  await coordinator?.stop();
  coordinator = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>, host?: string) {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  coordinator = await startCoordinator({
    env: {
      PATH: process.env.PATH ?? '',
      FERSWEEP_STORE: `file://${dir}/data`,
      FERSWEEP_STATE_DIR: join(dir, 'state'),
      ...env,
    },
    port: 0,
    ...(host ? { host } : {}),
    logger: createLogger({ service: 'coordinator', stream }),
    // The app passes its own `fersweep train`; these tests never launch a trial.
    trainerCommand: [process.execPath, '-e', 'process.exit(1)'],
  });
  return {
    coordinator,
    warnings: lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'warn'),
  };
}

describe('where the coordinator listens', () => {
  it('without API tokens: on loopback only', async () => {
    const { coordinator: c, warnings } = await start({});
    expect(c.host).toBe('127.0.0.1');
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    expect(warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/WITHOUT authentication, on 127\.0\.0\.1 only/),
    );
  });

  it('with API tokens: on every interface', async () => {
    const { coordinator: c } = await start({ FERSWEEP_API_TOKENS: 'tok' });
    expect(c.host).toBe('0.0.0.0');
  });

  it('where FERSWEEP_HOST says, and loudly when that exposes an API without tokens', async () => {
    const { coordinator: c, warnings } = await start({ FERSWEEP_HOST: '0.0.0.0' });
    expect(c.host).toBe('0.0.0.0');
    expect(warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/listens on 0\.0\.0\.0 WITHOUT authentication/),
    );
  });

  it('where --host says, over FERSWEEP_HOST', async () => {
    const { coordinator: c } = await start({ FERSWEEP_HOST: '0.0.0.0' }, '127.0.0.1');
    expect(c.host).toBe('127.0.0.1');
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });
});

describe('chooseListenHost', () => {
  it.each([
    [{ authenticated: false }, '127.0.0.1', false],
    [{ authenticated: true }, '0.0.0.0', false],
    [{ authenticated: false, configured: '::1' }, '::1', false],
    [{ authenticated: false, configured: '10.1.2.3' }, '10.1.2.3', true],
    [{ authenticated: true, configured: '10.1.2.3' }, '10.1.2.3', false],
    [{ authenticated: false, configured: '0.0.0.0', explicit: 'localhost' }, 'localhost', false],
  ])('%j → %s (warning: %s)', (input, host, warns) => {
    const c = chooseListenHost(input);
    expect(c.host).toBe(host);
    expect(Boolean(c.warning)).toBe(warns);
  });
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '127.example.com'].some(isLoopback)).toBe(false);
  });
});
