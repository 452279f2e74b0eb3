/**
 * The distributed stack of the fault suite, every part killable with SIGKILL and restartable in
 * place: nats-server (JetStream store kept), s3rver (data dir kept), the coordinator and the
 * evaluator as child processes (`fersweep serve …`, fixed ports), and the fake kube-apiserver in
 * this process, whose trainer pods are child processes of their own (`fersweep train`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '@fersweep/kube-fake';
import { freePort, startNats, startS3, type RunningNats, type RunningS3 } from '@fersweep/testkit';
import { createTrainerConfig, trainerImage } from '../support/kube.js';

export const BIN = join(process.cwd(), 'bin', 'fersweep.js');
export const TOKEN = 'faults-token';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A fersweep service (`fersweep serve coordinator|evaluator`) as a child process on a fixed port. */
export interface ServiceProcess {
  url: string;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
  /** A new process with the same environment and port; resolves when /readyz answers 200. */
  restart(): Promise<void>;
  /** SIGTERM (the service's own shutdown), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** The last lines the process wrote (for failure messages). */
  output(): string;
}

/** Polls `check` every `everyMs` until it returns a value; throws `what` (and `detail()`) after `ms`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 90_000,
  detail: () => string = () => '',
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let lastErr = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}\n${detail()}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`)).ok;
  } catch {
    return false;
  }
}

/** Starts `fersweep serve <role>` on `port` with exactly `env` (plus PATH), ready when /readyz says so. */
export async function startService(
  role: 'coordinator' | 'evaluator',
  env: Record<string, string>,
  port: number,
): Promise<ServiceProcess> {
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let out = '';
  const launch = async () => {
    out = '';
    const c = spawn(process.execPath, [BIN, 'serve', role, '--port', String(port), '--host', '127.0.0.1'], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-6000));
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    child = c;
    await waitUntil(
      `${role} to be ready on ${url}`,
      async () => {
        if (c.exitCode !== null) throw new Error(`${role} exited with ${c.exitCode}`);
        return ready(url);
      },
      60_000,
      () => out,
      100,
    );
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url,
    kill,
    restart: launch,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    output: () => out,
  };
}

/** The whole stack; `nats` and `s3` are replaced by their restarted servers. */
export interface FaultStack {
  nats: RunningNats;
  s3: RunningS3;
  kube: FakeKube;
  coordinator: ServiceProcess;
  evaluator: ServiceProcess;
  /** kill -9 of nats-server, then a new one on its port and JetStream store. */
  restartNats(): Promise<void>;
  /** kill -9 of s3rver, then a new one on its port and data dir. */
  restartS3(): Promise<void>;
  /**
   * Replaces the coordinator (stopped first) by one with the local launcher on the same port, NATS
   * and S3: its trainers are its own child processes (`fersweep train --trial <file>`).
   */
  useLocalCoordinator(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * nats-server, s3rver (bucket `fersweep`), the fake kube-apiserver with the chart's trainer
 * ConfigMap/Secret, the evaluator and the coordinator (Kubernetes launcher through a kubeconfig
 * file, state in NATS KV — the production distributed mode), API token {@link TOKEN}.
 */
export async function startFaultStack(dir: string): Promise<FaultStack> {
  let nats = await startNats();
  let s3 = await startS3({ kind: 's3rver' });
  await s3.createBucket('fersweep');
  Object.assign(process.env, s3.env);
  const kube = await startFakeKube({
    ...trainerImage(BIN),
    terminationGracePeriodSeconds: 5,
  });
  await createTrainerConfig(kube, nats, s3);
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, kube.kubeconfigYaml);
  const [coordinatorPort, evaluatorPort] = [await freePort(), await freePort()];
  const common = { ...s3.env, NATS_URL: nats.url, FERSWEEP_STORE: 's3://fersweep', FERSWEEP_API_TOKENS: TOKEN };
  const evaluator = await startService('evaluator', common, evaluatorPort);
  let coordinator = await startService(
    'coordinator',
    {
      ...common,
      FERSWEEP_LAUNCHER: 'kubernetes',
      KUBECONFIG: kubeconfig,
      FERSWEEP_NAMESPACE: 'default',
      FERSWEEP_TRAINER_IMAGE: 'fersweep:faults',
      FERSWEEP_TRAINER_CONFIGMAP: 'fersweep-trainer',
      FERSWEEP_TRAINER_SECRET: 'fersweep-s3',
      FERSWEEP_EVALUATOR_URL: evaluator.url,
    },
    coordinatorPort,
  );
  const stack: FaultStack = {
    nats,
    s3,
    kube,
    coordinator,
    evaluator,
    async restartNats() {
      await nats.kill();
      nats = await startNats({ port: nats.port, dataDir: nats.dataDir });
      stack.nats = nats;
    },
    async restartS3() {
      await s3.kill();
      s3 = await startS3({ kind: 's3rver', port: s3.port, dataDir: s3.dataDir });
      stack.s3 = s3;
    },
    async useLocalCoordinator() {
      await coordinator.stop();
      coordinator = await startService(
        'coordinator',
        {
          ...common,
          FERSWEEP_LAUNCHER: 'local',
          FERSWEEP_MAX_LOCAL_TRAINERS: '2',
          FERSWEEP_TF_BACKEND: 'wasm',
          FERSWEEP_EVALUATOR_URL: evaluator.url,
        },
        coordinatorPort,
      );
      stack.coordinator = coordinator;
    },
    async stop() {
      await coordinator.stop();
      await evaluator.stop();
      await kube.stop();
      await Promise.all([nats.stop(), s3.stop()]);
    },
  };
  return stack;
}
