export { Scheduler, type SchedulerDeps, type SubmitResult } from './scheduler.js';
export { SweepError } from './errors.js';
export { validateSweep } from './validate.js';
export { planTrialRecords, type PlanContext } from './plan.js';
export { SweepState, openFileKv, SweepRecord, TrialRecord, TrialPhase, SweepPhase, TERMINAL_TRIAL } from './state.js';
export { LocalLauncher, trainerThreads, TRAIN_THREADS_ENV, type LocalLauncherOptions } from './launchers/local.js';
export type { Launcher, LaunchOptions, LaunchStatus } from './launchers/types.js';
export { createReportReader, ReportPendingError, type ReportReader, type ReportReaderOptions } from './reports.js';
export { createApp, openApiDocument, ApiError, sweepView, trialView, type AppDeps } from './app.js';
export {
  coordinatorProcess,
  startCoordinator,
  type Coordinator,
  type CoordinatorProcessOptions,
  type StartOptions,
} from './main.js';
export { loadConfig, CoordinatorConfig, ConfigError } from './config.js';
export {
  KubernetesLauncher,
  withDefaults,
  type KubernetesLauncherOptions,
  type TrainerDefaults,
} from './launchers/kubernetes.js';
export { buildJob, jobName, jobStatus, labelValue, type JobTemplate } from './launchers/job.js';
export { tokenChecker } from '@fersweep/observability';
export { loadTenancy, readTenantsDocument, type Tenancy } from './tenancy/config.js';
export { admit, mergePolicy, isBlockedHost, Policy, PolicyError, type AdmissionContext } from './tenancy/policy.js';
export { defaultAdmission, policyAdmission, checkSweepName, type Admission } from './tenancy/admission.js';
export { SweepIndex, type SweepSummary } from './tenancy/sweep-index.js';
