import { spawn, type ChildProcess } from 'node:child_process';
import { PERMANENT_EXIT_CODES, type TrialSpec } from '@fersweep/contracts';
import { bridgeChildToBus, type Bus } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { LaunchOptions, LaunchStatus, Launcher } from './types.js';

export interface LocalLauncherOptions {
  /** The trainer command before `--trial <json>`, e.g. [process.execPath, 'bin/fersweep.js', 'train']. */
  command: string[];
  env?: NodeJS.ProcessEnv;
  /** Trainer processes at once on this machine (each uses one core on wasm). */
  maxConcurrent: number;
  /** Embedded mode: children publish over IPC and their events land on this bus. */
  bus?: Bus;
  logger: Logger;
  /** Grace period between SIGTERM and SIGKILL when cancelling (the trainer checkpoints first). */
  killGraceMs?: number;
}

interface Run {
  spec: TrialSpec;
  options: LaunchOptions;
  status: LaunchStatus;
  child?: ChildProcess;
  log: string;
  cancelled: boolean;
  deadline?: NodeJS.Timeout;
}

const MAX_LOG = 256 * 1024;

/**
 * Trials as `fersweep train` child processes on this machine, with the Job semantics of the
 * Kubernetes launcher: retries up to `retries` on retryable exits, immediate failure on the
 * trainer's permanent exit codes (42, 43), a deadline, cancel with SIGTERM then SIGKILL.
 * At most `maxConcurrent` run at once; the rest wait in launch order.
 */
export class LocalLauncher implements Launcher {
  readonly kind = 'local' as const;
  private readonly runs = new Map<string, Run>();
  private readonly waiting: Run[] = [];
  private readonly watchers = new Set<(s: LaunchStatus) => void>();
  private running = 0;
  private closed = false;

  constructor(private readonly options: LocalLauncherOptions) {}

  private key(sweep: string, trial: string): string {
    return `${sweep}/${trial}`;
  }

  private emit(run: Run): void {
    for (const w of this.watchers) w({ ...run.status });
  }

  async launch(spec: TrialSpec, options: LaunchOptions): Promise<void> {
    const key = this.key(spec.sweep, spec.trial);
    if (this.runs.has(key)) return; // adopt: already known
    const run: Run = {
      spec,
      options,
      status: { sweep: spec.sweep, trial: spec.trial, phase: 'Pending', attempts: 0, failures: 0, preemptions: 0 },
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
    this.running++;
    run.status = { ...run.status, phase: 'Running', attempts: run.status.attempts + 1 };
    const [cmd, ...args] = this.options.command;
    const spec = this.options.bus ? { ...run.spec, bus: { kind: 'ipc' as const } } : run.spec;
    const child = spawn(cmd!, [...args, '--trial', JSON.stringify(spec)], {
      env: { ...(this.options.env ?? process.env) },
      stdio: this.options.bus ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    run.child = child;
    run.log = '';
    const append = (d: Buffer) => {
      run.log = (run.log + d.toString()).slice(-MAX_LOG);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const bridge = this.options.bus
      ? bridgeChildToBus(child, this.options.bus, { logger: this.options.logger })
      : undefined;
    if (!run.deadline) {
      run.deadline = setTimeout(() => {
        run.status = {
          ...run.status,
          reason: 'DeadlineExceeded',
          message: `deadline of ${run.options.deadlineSeconds} s exceeded`,
        };
        run.cancelled = true;
        child.kill('SIGKILL');
      }, run.options.deadlineSeconds * 1000);
      run.deadline.unref();
    }
    this.emit(run);
    child.on('error', (err) => append(Buffer.from(`\nfailed to start: ${err.message}\n`)));
    child.on('close', (code, signal) => {
      void (async () => {
        await bridge?.idle();
        bridge?.detach();
        this.running--;
        this.finished(run, code, signal);
        this.pump();
      })();
    });
  }

  private finished(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    const exitCode = code ?? undefined;
    if (code === 0) {
      run.status = { ...run.status, phase: 'Succeeded', exitCode: 0 };
    } else if (run.cancelled) {
      run.status = {
        ...run.status,
        phase: 'Failed',
        ...(exitCode !== undefined ? { exitCode } : {}),
        reason: run.status.reason ?? 'Cancelled',
      };
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
    if (run.status.phase !== 'Pending' && run.deadline) clearTimeout(run.deadline);
    this.emit(run);
  }

  async cancel(sweep: string, trial: string): Promise<void> {
    const run = this.runs.get(this.key(sweep, trial));
    if (!run) return;
    run.cancelled = true;
    const child = run.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), this.options.killGraceMs ?? 10_000);
      await exited;
      clearTimeout(t);
    } else if (run.status.phase === 'Pending') {
      run.status = { ...run.status, phase: 'Failed', reason: 'Cancelled' };
      if (run.deadline) clearTimeout(run.deadline);
      this.emit(run);
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
      [...this.runs.values()]
        .filter((r) => r.child && r.child.exitCode === null)
        .map((r) => this.cancel(r.spec.sweep, r.spec.trial)),
    );
  }
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
