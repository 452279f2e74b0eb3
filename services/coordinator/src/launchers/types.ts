import type { ResourcesSpec, TrialSpec } from '@fersweep/contracts';

/** What a launcher knows of one trial's execution (a Job, or a child process). */
export interface LaunchStatus {
  sweep: string;
  trial: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Attempts started so far. */
  attempts: number;
  /** Failed attempts that count against the retries (a preemption does not). */
  failures: number;
  preemptions: number;
  exitCode?: number;
  /** Why it failed: BackoffLimitExceeded, PermanentError, DeadlineExceeded, … */
  reason?: string;
  message?: string;
}

export interface LaunchOptions {
  /** Failed attempts allowed before the trial fails (preemptions do not count). */
  retries: number;
  deadlineSeconds: number;
  resources: ResourcesSpec;
  queueName?: string;
}

/**
 * Runs trials: one batch/v1 Job each on Kubernetes, or one child process each locally. Both retry
 * failed attempts up to `retries`, fail at once on the trainer's permanent exit codes, and report
 * every change to the watcher. Launching an existing trial adopts it instead of starting a second.
 */
export interface Launcher {
  readonly kind: 'local' | 'kubernetes';
  launch(spec: TrialSpec, options: LaunchOptions): Promise<void>;
  /** Stops and removes a trial's execution; absent is fine. */
  cancel(sweep: string, trial: string): Promise<void>;
  /** Every known execution (for reconciliation after a restart). */
  list(): Promise<LaunchStatus[]>;
  /** Calls `onStatus` on every change until the returned function is called. */
  watch(onStatus: (status: LaunchStatus) => void): Promise<() => void>;
  /** The trainer's output (stdout + stderr) of the latest attempt. */
  logs(sweep: string, trial: string): Promise<string>;
  close(): Promise<void>;
}
