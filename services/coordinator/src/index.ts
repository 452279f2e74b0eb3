export { Scheduler, SweepError, type SchedulerDeps, type SubmitResult } from './scheduler.js';
export { SweepState, openFileKv, SweepRecord, TrialRecord, TrialPhase, SweepPhase, TERMINAL_TRIAL } from './state.js';
export { LocalLauncher, type LocalLauncherOptions } from './launchers/local.js';
export type { Launcher, LaunchOptions, LaunchStatus } from './launchers/types.js';
