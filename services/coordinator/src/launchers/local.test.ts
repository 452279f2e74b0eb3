import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrialSpec } from '@fersweep/contracts';
import { createLogger } from '@fersweep/observability';
import { LocalLauncher, trainerThreads } from './local.js';
import type { LaunchOptions, LaunchStatus } from './types.js';

const FAKE = fileURLToPath(new URL('../fixtures/fake-trainer.mjs', import.meta.url));
const logger = createLogger({ service: 'coordinator', silent: true });
let dir: string;
let launcher: LocalLauncher | undefined;

beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-local-'))));
afterEach(async () => {
  await launcher?.close();
  launcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

const trial = (name: string, params: Record<string, unknown> = {}) =>
  TrialSpec.parse({
    sweep: 'sw',
    trial: name,
    variant: name,
    model: 'cnn',
    params: { stateDir: dir, ...params },
    dataset: 'file:///nowhere',
    output: `file://${dir}/out`,
    epochs: 1,
  });
const options = (o: Partial<LaunchOptions> = {}): LaunchOptions => ({
  retries: 3,
  deadlineSeconds: 3600,
  resources: { gpu: 0, cpu: '1', memory: '1Gi', nodeSelector: {}, tolerations: [] },
  ...o,
});

function start(o: { command?: string[]; maxConcurrent?: number; env?: NodeJS.ProcessEnv } = {}) {
  launcher = new LocalLauncher({
    command: o.command ?? [process.execPath, FAKE],
    maxConcurrent: o.maxConcurrent ?? 2,
    logger,
    killGraceMs: 2000,
    specDir: join(dir, 'specs'),
    ...(o.env ? { env: o.env } : {}),
  });
  return launcher;
}

/** Resolves with the first final status of each named trial. */
async function finals(l: LocalLauncher, names: string[], ms = 20_000): Promise<Record<string, LaunchStatus>> {
  const out: Record<string, LaunchStatus> = {};
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const s of await l.list()) if (s.phase === 'Succeeded' || s.phase === 'Failed') out[s.trial] ??= s;
    if (names.every((n) => out[n])) return out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out; final so far: ${JSON.stringify(out)}`);
}

describe('LocalLauncher', () => {
  it('runs a trial whose spec is larger than an argv element may be (140 KB of params), from a private file', async () => {
    const l = start();
    await l.launch(trial('big', { blob: 'x'.repeat(140_000), dumpEnv: true }), options());
    const s = await finals(l, ['big']);
    expect(s.big).toMatchObject({ phase: 'Succeeded', attempts: 1 });
    const seen = JSON.parse(await readFile(join(dir, 'sw-big.env.json'), 'utf8')) as {
      argv: string[];
      specMode: number;
    };
    expect(Math.max(...seen.argv.map((a) => a.length))).toBeLessThan(4096);
    expect(seen.specMode).toBe(0o600);
    // The spec file goes with the trial.
    await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(join(dir, 'specs'))).toEqual([]);
  });

  it('counts a trainer that cannot start (E2BIG) as a failed attempt that frees its slot', async () => {
    // A command line over the kernel's limit: spawn throws synchronously for every trial.
    const l = start({ command: [process.execPath, FAKE, 'x'.repeat(200_000)], maxConcurrent: 1 });
    await l.launch(trial('a'), options());
    await l.launch(trial('b'), options());
    const s = await finals(l, ['a', 'b']);
    for (const t of ['a', 'b']) {
      expect(s[t]).toMatchObject({ phase: 'Failed', reason: 'SpawnFailed', attempts: 1, failures: 1 });
      expect(s[t]!.message).toMatch(/could not start the trainer.*E2BIG/);
    }
  });

  it('fails a trainer that does not exist at once with SpawnFailed', async () => {
    const l = start({ command: [join(dir, 'no-such-trainer')], maxConcurrent: 1 });
    await l.launch(trial('a'), options());
    const s = await finals(l, ['a']);
    expect(s.a).toMatchObject({ phase: 'Failed', reason: 'SpawnFailed', attempts: 1 });
    expect(s.a!.message).toMatch(/ENOENT/);
  });

  it('passes trainers an allow-listed environment: never the API tokens', async () => {
    const l = start({
      env: {
        PATH: process.env.PATH ?? '',
        FERSWEEP_API_TOKENS: 'api-secret-1,api-secret-2',
        FERSWEEP_TOKEN: 'cli-secret',
        FERSWEEP_TENANTS: '{"tenants":[{"name":"tenant-secret"}]}',
        FERSWEEP_TENANTS_FILE: '/etc/tenant-secret.json',
        FERSWEEP_TF_BACKEND: 'wasm',
        FERSWEEP_S3_MAX_ATTEMPTS: '3',
        AWS_ACCESS_KEY_ID: 'ak',
        AWS_SECRET_ACCESS_KEY: 'sk',
        NATS_URL: 'nats://127.0.0.1:4222',
        NODE_OPTIONS: '--no-warnings',
        KUBECONFIG: '/root/.kube/config',
        GITHUB_TOKEN: 'gh-secret',
      },
    });
    await l.launch(trial('env', { dumpEnv: true }), options());
    expect((await finals(l, ['env'])).env?.phase).toBe('Succeeded');
    const raw = await readFile(join(dir, 'sw-env.env.json'), 'utf8');
    const { env } = JSON.parse(raw) as { env: Record<string, string> };
    for (const secret of ['api-secret-1', 'cli-secret', 'gh-secret', 'tenant-secret'])
      expect(raw).not.toContain(secret);
    expect(env).not.toHaveProperty('KUBECONFIG');
    expect(env).toMatchObject({
      FERSWEEP_TF_BACKEND: 'wasm',
      FERSWEEP_S3_MAX_ATTEMPTS: '3',
      AWS_ACCESS_KEY_ID: 'ak',
      AWS_SECRET_ACCESS_KEY: 'sk',
      NATS_URL: 'nats://127.0.0.1:4222',
    });
  });

  it("gives each trainer its share of the machine's cores as FERSWEEP_TRAIN_THREADS (8 cores, 2 at once: 4 each)", async () => {
    launcher = new LocalLauncher({
      command: [process.execPath, FAKE],
      maxConcurrent: 2,
      cores: 8,
      logger,
      specDir: join(dir, 'specs'),
      env: { PATH: process.env.PATH ?? '' },
    });
    await launcher.launch(trial('a', { dumpEnv: true }), options());
    await launcher.launch(trial('b', { dumpEnv: true }), options());
    await finals(launcher, ['a', 'b']);
    for (const name of ['a', 'b']) {
      const { env } = JSON.parse(await readFile(join(dir, `sw-${name}.env.json`), 'utf8')) as {
        env: Record<string, string>;
      };
      expect(env.FERSWEEP_TRAIN_THREADS).toBe('4');
    }
    // A cap the coordinator was started with wins; more trainers than cores still get one thread each.
    expect(trainerThreads({ cores: 8, maxConcurrent: 2 }, '3')).toBe(3);
    expect(trainerThreads({ cores: 2, maxConcurrent: 4 })).toBe(1);
    expect(trainerThreads({ cores: 16, maxConcurrent: 3 })).toBe(5);
  });

  it('honours a deadline longer than setTimeout can hold (30 days)', async () => {
    const l = start();
    await l.launch(trial('long', { sleepMs: 300 }), options({ deadlineSeconds: 30 * 86_400 }));
    expect((await finals(l, ['long'])).long).toMatchObject({ phase: 'Succeeded' });
  });

  it('a deadline that fires during a retry stops that attempt and ends the trial Failed(DeadlineExceeded)', async () => {
    const l = start();
    // Attempt 1 fails fast (retryable), attempt 2 would run for a minute: the 1.5 s deadline ends it.
    await l.launch(trial('slow', { exitCodes: [75, 0], sleeps: [50, 60_000] }), options({ deadlineSeconds: 1.5 }));
    const s = await finals(l, ['slow']);
    expect(s.slow).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', attempts: 2 });
    expect((await l.list()).find((x) => x.trial === 'slow')?.phase).toBe('Failed');
  });

  it('a deadline that fires while a retry waits for a slot ends the trial Failed(DeadlineExceeded)', async () => {
    // The retry cannot start while the launcher is closing for new starts: the deadline must still end it.
    const l = start({ maxConcurrent: 1 });
    const statuses: LaunchStatus[] = [];
    await l.watch((s) => statuses.push(s));
    await l.launch(trial('r', { exitCodes: [75, 0], sleeps: [300] }), options({ deadlineSeconds: 1 }));
    await new Promise((r) => setTimeout(r, 100));
    (l as unknown as { closed: boolean }).closed = true; // no further starts: the retry waits
    const s = await finals(l, ['r']);
    expect(s.r).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', attempts: 1 });
    expect(statuses.at(-1)).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(existsSync(join(dir, 'specs', 'sw.r.json'))).toBe(false);
  });
});
