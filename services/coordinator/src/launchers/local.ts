import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PERMANENT_EXIT_CODES, type TrialSpec } from '@fersweep/contracts';
import { bridgeChildToBus, type Bus } from '@fersweep/messaging';
import { usableCores, type Logger } from '@fersweep/observability';
import { trainerEnv } from './env.js';
import { setLongTimeout, type LongTimer } from './timer.js';
import type { LaunchOptions, LaunchStatus, Launcher } from './types.js';

export interface LocalLauncherOptions {
  /** The trainer command before `--trial <file>`, e.g. [process.execPath, 'bin/fersweep.js', 'train']. */
  command: string[];
  /**
   * The environment trainers' variables are picked from (default `process.env`): only an
   * allow-list reaches them (see `trainerEnv`), never FERSWEEP_API_TOKENS.
   */
  env?: NodeJS.ProcessEnv;
  /** Trainer processes at once on this machine; they share its cores (see `cores`). */
  maxConcurrent: number;
  /**
   * Cores the trainers share (default: this process's usable cores, cgroup quota included). Each trainer
   * gets ⌊cores / maxConcurrent⌋ data-parallel threads (FERSWEEP_TRAIN_THREADS, at least 1, never more
   * than a FERSWEEP_TRAIN_THREADS already in `env`): 8 cores and 2 trainers at once train with 4 each.
   */
  cores?: number;
  /** Embedded mode: children publish over IPC and their events land on this bus. */
  bus?: Bus;
  logger: Logger;
  /** Grace period between SIGTERM and SIGKILL when cancelling (the trainer checkpoints first). */
  killGraceMs?: number;
  /**
   * Where trial specs are written for the trainers (`--trial <file>`, mode 0600 in a 0700
   * folder; removed when the trial ends). Default: a private folder under the OS temp dir.
   */
  specDir?: string;
}

interface Run {
  spec: TrialSpec;
  options: LaunchOptions;
  status: LaunchStatus;
  specFile: string;
  child?: ChildProcess;
  /** A child is started and its close not yet handled: it holds a slot. */
  active: boolean;
  /** Why the latest attempt could not start (spawn's error), if it could not. */
  spawnError?: NodeJS.ErrnoException;
  log: string;
  cancelled: boolean;
  deadline?: LongTimer;
}

const MAX_LOG = 256 * 1024;

/** Spawn errors that may pass (resources of the moment): the attempt counts and is retried. */
const TRANSIENT_SPAWN = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM']);

/**
 * Trials as `fersweep train` child processes on this machine, with the Job semantics of the
 * Kubernetes launcher: retries up to `retries` on retryable exits, immediate failure on the
 * trainer's permanent exit codes (42, 43), a deadline, cancel with SIGTERM then SIGKILL.
 * At most `maxConcurrent` run at once; the rest wait in launch order. A child that cannot be
 * started is a failed attempt (reason SpawnFailed) and frees its slot at once.
 */
export class LocalLauncher implements Launcher {
  readonly kind = 'local' as const;
  private readonly runs = new Map<string, Run>();
  private readonly waiting: Run[] = [];
  private readonly watchers = new Set<(s: LaunchStatus) => void>();
  private running = 0;
  private closed = false;
  private specDir?: Promise<string>;

  constructor(private readonly options: LocalLauncherOptions) {}

  private key(sweep: string, trial: string): string {
    return `${sweep}/${trial}`;
  }

  private emit(run: Run): void {
    for (const w of this.watchers) w({ ...run.status });
  }

  /** The trial spec goes to the trainer as a private file: an argv element is limited to 128 KiB (E2BIG). */
  private async writeSpec(spec: TrialSpec): Promise<string> {
    this.specDir ??= (async () => {
      const dir = this.options.specDir ?? (await mkdtemp(join(tmpdir(), 'fersweep-trials-')));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
      return dir;
    })();
    const file = join(await this.specDir, `${spec.sweep}.${spec.trial}.json`);
    const body = JSON.stringify(this.options.bus ? { ...spec, bus: { kind: 'ipc' as const } } : spec);
    await rm(file, { force: true }); // mode applies on creation only: never reuse a file made by someone else
    await writeFile(file, body, { mode: 0o600, flag: 'wx' });
    return file;
  }

  async launch(spec: TrialSpec, options: LaunchOptions): Promise<void> {
    const key = this.key(spec.sweep, spec.trial);
    if (this.runs.has(key)) return; // adopt: already known
    const specFile = await this.writeSpec(spec);
    if (this.runs.has(key)) return; // launched meanwhile
    const run: Run = {
      spec,
      options,
      status: { sweep: spec.sweep, trial: spec.trial, phase: 'Pending', attempts: 0, failures: 0, preemptions: 0 },
      specFile,
      active: false,
      log: '',
      cancelled: false,
    };
    this.runs.set(key, run);
    this.waiting.push(run);
    this.emit(run);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.maxConcurrent && this.waiting.length > 0) {
      const run = this.waiting.shift()!;
      if (run.cancelled) continue;
      this.start(run);
    }
  }

  private start(run: Run): void {
    run.status = { ...run.status, phase: 'Running', attempts: run.status.attempts + 1 };
    run.log = '';
    run.spawnError = undefined;
    const [cmd, ...args] = this.options.command;
    let child: ChildProcess;
    try {
      child = spawn(cmd!, [...args, '--trial', run.specFile], {
        env: this.childEnv(),
        stdio: this.options.bus ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      // Synchronous failures (E2BIG, an invalid argument): no child, no slot taken.
      run.spawnError = err as NodeJS.ErrnoException;
      this.finished(run, null, null);
      return;
    }
    this.running++;
    run.active = true;
    run.child = child;
    const append = (d: Buffer) => {
      run.log = (run.log + d.toString()).slice(-MAX_LOG);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const bridge = this.options.bus
      ? bridgeChildToBus(child, this.options.bus, { logger: this.options.logger })
      : undefined;
    if (!run.deadline) {
      run.deadline = setLongTimeout(() => this.deadlineExceeded(run), run.options.deadlineSeconds * 1000);
    }
    this.emit(run);
    child.on('error', (err) => {
      // ENOENT, EACCES, EAGAIN…: reported asynchronously, followed by 'close'.
      run.spawnError = err;
      append(Buffer.from(`\nfailed to start: ${err.message}\n`));
    });
    child.on('close', (code, signal) => {
      void (async () => {
        await bridge?.idle();
        bridge?.detach();
        this.running--;
        run.active = false;
        this.finished(run, code, signal);
        this.pump();
      })();
    });
  }

  /** The allow-listed environment plus this trainer's share of the cores. */
  private childEnv(): NodeJS.ProcessEnv {
    const env = trainerEnv(this.options.env ?? process.env);
    const cap = env[TRAIN_THREADS_ENV]?.trim();
    // A cap that is not a positive integer goes through as is: the trainer fails naming it (exit 42).
    if (cap && !/^[1-9]\d*$/.test(cap)) return env;
    return { ...env, [TRAIN_THREADS_ENV]: String(trainerThreads(this.options, cap)) };
  }

  /** The deadline counts from the first start, retries included (a Job's activeDeadlineSeconds). */
  private deadlineExceeded(run: Run): void {
    if (run.status.phase === 'Succeeded' || run.status.phase === 'Failed') return;
    run.status = {
      ...run.status,
      reason: 'DeadlineExceeded',
      message: `deadline of ${run.options.deadlineSeconds} s exceeded`,
    };
    run.cancelled = true;
    if (run.active) {
      run.child?.kill('SIGKILL'); // `finished` reports it Failed(DeadlineExceeded)
      return;
    }
    // Waiting for a retry: nothing will close, so it ends here.
    const i = this.waiting.indexOf(run);
    if (i >= 0) this.waiting.splice(i, 1);
    this.end(run, { ...run.status, phase: 'Failed' });
  }

  private finished(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    const exitCode = code ?? undefined;
    const spawnError = run.spawnError;
    if (code === 0 && !spawnError) {
      run.status = { ...run.status, phase: 'Succeeded', exitCode: 0 };
    } else if (run.cancelled) {
      run.status = {
        ...run.status,
        phase: 'Failed',
        ...(exitCode !== undefined ? { exitCode } : {}),
        reason: run.status.reason ?? 'Cancelled',
      };
    } else if (spawnError) {
      const failures = run.status.failures + 1;
      const failed = !TRANSIENT_SPAWN.has(spawnError.code ?? '') || failures > run.options.retries;
      const message = `could not start the trainer (${this.options.command[0]}): ${spawnError.message}`.slice(0, 500);
      this.options.logger.warn('trainer did not start', {
        sweep: run.spec.sweep,
        trial: run.spec.trial,
        error: spawnError.code ?? spawnError.message,
      });
      const { exitCode: _none, ...rest } = run.status;
      run.status = { ...rest, failures, phase: failed ? 'Failed' : 'Pending', reason: 'SpawnFailed', message };
      if (!failed) this.waiting.unshift(run);
    } else if (code !== null && (PERMANENT_EXIT_CODES as readonly number[]).includes(code)) {
      run.status = {
        ...run.status,
        phase: 'Failed',
        exitCode: code,
        failures: run.status.failures + 1,
        reason: 'PermanentError',
        message: lastLine(run.log),
      };
    } else {
      const failures = run.status.failures + 1;
      const base = {
        ...run.status,
        failures,
        ...(exitCode !== undefined ? { exitCode } : {}),
        message: signal ? `killed by ${signal}` : lastLine(run.log),
      };
      if (failures > run.options.retries) {
        run.status = { ...base, phase: 'Failed', reason: 'BackoffLimitExceeded' };
      } else {
        run.status = { ...base, phase: 'Pending' };
        this.waiting.unshift(run); // retry next, resuming from its checkpoint
      }
    }
    if (run.status.phase !== 'Pending') this.end(run, run.status);
    else this.emit(run);
  }

  /** A final status: the deadline and the spec file go, watchers hear it once. */
  private end(run: Run, status: LaunchStatus): void {
    run.status = status;
    run.deadline?.clear();
    void rm(run.specFile, { force: true }).catch(() => undefined);
    this.emit(run);
  }

  async cancel(sweep: string, trial: string): Promise<void> {
    const run = this.runs.get(this.key(sweep, trial));
    if (!run) return;
    // A run that already ended is removed, as a deleted Job is: launching the same trial again (a
    // purged sweep's name reused) starts anew. A running one is stopped and stays listed as ended.
    if (!run.active && run.status.phase !== 'Pending') {
      this.runs.delete(this.key(sweep, trial));
      return;
    }
    run.cancelled = true;
    const child = run.child;
    if (run.active && child) {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), this.options.killGraceMs ?? 10_000);
      await exited;
      clearTimeout(t);
    } else if (run.status.phase === 'Pending') {
      const i = this.waiting.indexOf(run);
      if (i >= 0) this.waiting.splice(i, 1);
      this.end(run, { ...run.status, phase: 'Failed', reason: 'Cancelled' });
    }
  }

  async list(): Promise<LaunchStatus[]> {
    return [...this.runs.values()].map((r) => ({ ...r.status }));
  }

  async watch(onStatus: (s: LaunchStatus) => void): Promise<() => void> {
    this.watchers.add(onStatus);
    return () => this.watchers.delete(onStatus);
  }

  async logs(sweep: string, trial: string): Promise<string> {
    return this.runs.get(this.key(sweep, trial))?.log ?? '';
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.runs.values()].filter((r) => r.active).map((r) => this.cancel(r.spec.sweep, r.spec.trial)),
    );
    for (const r of this.runs.values()) r.deadline?.clear();
    // Our own temp folder goes; a configured one keeps the specs of unfinished trials for the next start.
    if (this.specDir && !this.options.specDir) await rm(await this.specDir, { recursive: true, force: true });
  }
}

/** The trainer's data-parallel thread cap (services/trainer parallel/threads.ts reads it). */
export const TRAIN_THREADS_ENV = 'FERSWEEP_TRAIN_THREADS';

/**
 * Data-parallel threads per trainer when `maxConcurrent` trainers share `cores` (default: this process's
 * usable cores): ⌊cores / maxConcurrent⌋, at least 1, at most a positive integer `cap` (a
 * FERSWEEP_TRAIN_THREADS the coordinator was started with).
 */
export function trainerThreads(options: { cores?: number; maxConcurrent: number }, cap?: string): number {
  const cores = options.cores ?? usableCores();
  const share = Math.max(1, Math.floor(cores / Math.max(1, options.maxConcurrent)));
  const limit = Number(cap);
  return Number.isSafeInteger(limit) && limit >= 1 ? Math.min(share, limit) : share;
}

function lastLine(log: string): string {
  const lines = log.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    const j = JSON.parse(last) as { message?: string; reason?: string };
    return (j.reason ?? j.message ?? last).slice(0, 500);
  } catch {
    return last.slice(0, 500);
  }
}
