/**
 * `fersweep serve evaluator` as its container runs it (the built bin/fersweep.js): `--host` wins
 * over FERSWEEP_HOST, FERSWEEP_API_TOKENS guard its reports, SIGTERM stops it with exit 0.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(process.cwd(), 'bin', 'fersweep.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Starts the evaluator; resolves with its address from the "listening" log line. */
async function serveEvaluator(args: string[], env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-serve-'));
  dirs.push(dir);
  const child = spawn(process.execPath, [BIN, 'serve', 'evaluator', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, FERSWEEP_STORE: `file://${dir}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  const listening = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /evaluator listening on ([^\s"]+):(\d+)/.exec(log);
      if (m) resolve(`${m[1]}:${m[2]}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, listening, exit, log: () => log };
}

describe('fersweep serve evaluator', () => {
  it('listens where --host says, answers 401 without the token and 200 with it, exits 0 on SIGTERM', async () => {
    const { child, listening, exit } = await serveEvaluator(['--host', '127.0.0.1', '--port', '0'], {
      FERSWEEP_HOST: '0.0.0.0',
      FERSWEEP_API_TOKENS: 'cli-token',
    });
    expect(listening).toMatch(/^127\.0\.0\.1:\d+$/);
    const url = `http://${listening}`;
    const refused = await fetch(`${url}/v1/sweeps`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 'Unauthorized' });
    expect((await fetch(`${url}/v1/sweeps`, { headers: { authorization: 'Bearer cli-token' } })).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 60_000);
});
