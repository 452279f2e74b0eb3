import { execFile } from 'node:child_process';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './kernels/register.js';
import { installLinearTapeFilter } from './tape.js';

/** The backend choices a user can force, in the order {@link initTf} tries them by default. */
export const BACKEND_CHOICES = ['gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The environment variable that forces a backend. */
export const BACKEND_ENV_VAR = 'FERSWEEP_TF_BACKEND';

/** Which TensorFlow.js backend is active, on what, and from which package. */
export interface TfRuntime {
  /** tfjs' name for the backend: tfjs-node and tfjs-node-gpu both register 'tensorflow'. */
  backend: 'tensorflow' | 'wasm' | 'cpu';
  /** Human-readable device, e.g. "NVIDIA H100 80GB HBM3", "wasm simd, 1 thread", a CPU model. */
  device: string;
  /** The npm package that provides the backend. */
  package: string;
}

/** A winston-compatible logger (only what is used here). */
export interface TfLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface InitTfOptions {
  logger?: TfLogger;
  /** Forces a backend ('gpu' | 'node' | 'wasm' | 'cpu'); wins over FERSWEEP_TF_BACKEND. */
  prefer?: string;
}

/** Dependencies of {@link selectTfBackend}, injectable so the choice logic is testable without native builds. */
export interface SelectDeps {
  env: Record<string, string | undefined>;
  /** Dynamic `import()`; must reject with code ERR_MODULE_NOT_FOUND when a package is absent. */
  importModule: (specifier: string) => Promise<unknown>;
  /** Makes `name` the active tfjs backend; resolves false when it cannot initialise. */
  activate: (name: TfRuntime['backend']) => Promise<boolean>;
  /** Describes the device once a backend is active. */
  describeDevice: (choice: BackendChoice) => Promise<string>;
  /**
   * Whether the active tensorflow backend runs on a GPU (tfjs-node-gpu falls back to the CPU when
   * CUDA is unusable); undefined when it cannot tell.
   */
  gpuInUse?: () => boolean | undefined;
  logger?: TfLogger | undefined;
}

/** A bad backend setting or a forced backend that cannot load. Names the variable or option at fault. */
export class TfBackendError extends Error {
  override name = 'TfBackendError';
  constructor(
    message: string,
    readonly source: string,
    options?: { cause?: unknown; backend?: BackendChoice },
  ) {
    super(message, options);
    this.backend = options?.backend;
  }
  /** The backend that was forced and failed (undefined: a bad setting, or nothing loaded). */
  readonly backend: BackendChoice | undefined;
}

interface Candidate {
  choice: BackendChoice;
  packageName: string;
  backend: TfRuntime['backend'];
}

const CANDIDATES: readonly Candidate[] = [
  { choice: 'gpu', packageName: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow' },
  { choice: 'node', packageName: '@tensorflow/tfjs-node', backend: 'tensorflow' },
  { choice: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm', backend: 'wasm' },
  { choice: 'cpu', packageName: '@tensorflow/tfjs-backend-cpu', backend: 'cpu' },
];

function isChoice(value: string): value is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}

function parseChoice(value: string | undefined, source: string): BackendChoice | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (!isChoice(v)) {
    throw new TfBackendError(
      `${source}='${value}' is not a TensorFlow.js backend: use one of ${BACKEND_CHOICES.join(', ')} (or leave it unset to pick the first that loads)`,
      source,
    );
  }
  return v;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Tries the backends in order (tfjs-node-gpu → tfjs-node → wasm → cpu), or only the forced one, and returns
 * the first that loads and initialises. Absent optional packages are skipped quietly; other load failures are
 * logged and skipped, except for a forced backend, where any failure is an error.
 */
export async function selectTfBackend(prefer: string | undefined, deps: SelectDeps): Promise<TfRuntime> {
  const forcedBy = prefer !== undefined && prefer.trim() !== '' ? 'prefer' : BACKEND_ENV_VAR;
  const forced = parseChoice(prefer, 'prefer') ?? parseChoice(deps.env[BACKEND_ENV_VAR], BACKEND_ENV_VAR);
  const candidates = forced === undefined ? CANDIDATES : CANDIDATES.filter((c) => c.choice === forced);
  for (const c of candidates) {
    try {
      await deps.importModule(c.packageName);
    } catch (err) {
      if (forced !== undefined) {
        throw new TfBackendError(
          `${forcedBy} asks for the '${c.choice}' backend but ${c.packageName} failed to load: ${String(err)}`,
          forcedBy,
          { cause: err, backend: c.choice },
        );
      }
      if (!isModuleNotFound(err))
        deps.logger?.warn('tfjs backend failed to load, trying the next', {
          package: c.packageName,
          error: String(err),
        });
      continue;
    }
    if (!(await deps.activate(c.backend))) {
      if (forced !== undefined)
        throw new TfBackendError(`${forcedBy} asks for '${c.choice}' but the backend did not initialise`, forcedBy, {
          backend: c.choice,
        });
      deps.logger?.warn('tfjs backend did not initialise, trying the next', { package: c.packageName });
      continue;
    }
    if (forced === 'gpu' && deps.gpuInUse?.() === false) {
      throw new TfBackendError(
        `${forcedBy} asks for the 'gpu' backend: ${c.packageName} loaded but CUDA found no usable GPU, so it would train on the CPU`,
        forcedBy,
        { backend: 'gpu' },
      );
    }
    const runtime: TfRuntime = {
      backend: c.backend,
      device: await deps.describeDevice(c.choice),
      package: c.packageName,
    };
    deps.logger?.info('tfjs backend selected', { ...runtime, forced: forced ?? null });
    return runtime;
  }
  throw new TfBackendError('no TensorFlow.js backend could be loaded', BACKEND_ENV_VAR);
}

function cpuModel(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${model} (${cpus.length} cores)`;
}

/** Asks nvidia-smi for the GPU name; tfjs-node-gpu only says whether a GPU is in use. */
function gpuName(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 5000 }, (err, stdout) => {
      const name = err ? '' : (stdout.split('\n')[0]?.trim() ?? '');
      resolve(name === '' ? undefined : name);
    });
  });
}

/** tfjs-node-gpu runs on the CPU when CUDA is unusable; its backend exposes isUsingGpuDevice (untyped here). */
function gpuInUse(): boolean | undefined {
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean | (() => boolean) };
  return typeof b.isUsingGpuDevice === 'function' ? b.isUsingGpuDevice() : b.isUsingGpuDevice;
}

async function describeDevice(choice: BackendChoice): Promise<string> {
  switch (choice) {
    case 'gpu': {
      if (gpuInUse() === false) return `CPU (tfjs-node-gpu without a usable GPU): ${cpuModel()}`;
      return (await gpuName()) ?? 'CUDA GPU';
    }
    case 'node':
      return `libtensorflow CPU: ${cpuModel()}`;
    case 'wasm': {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
      const threads = wasm.getThreadsCount?.() ?? 1;
      return `wasm${simd ? ' simd' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
    }
    case 'cpu':
      return cpuModel();
  }
}

async function activate(name: TfRuntime['backend']): Promise<boolean> {
  const ok = await tf.setBackend(name);
  if (!ok) return false;
  await tf.ready();
  installLinearTapeFilter();
  if (name === 'wasm') registerWasmTrainingKernels();
  return true;
}

let current: { prefer: string | undefined; promise: Promise<TfRuntime> } | null = null;

/**
 * Picks and initialises the TensorFlow.js backend for this process: tfjs-node-gpu → tfjs-node → wasm → cpu,
 * the first that loads, unless `prefer` or FERSWEEP_TF_BACKEND (gpu | node | wasm | cpu) forces one. On wasm it
 * registers the training kernels tfjs 4.22 lacks. Idempotent: later calls return the first call's result (tfjs
 * backends are process-global); a later call that forces a different backend is an error.
 */
export async function initTf(options: InitTfOptions = {}): Promise<TfRuntime> {
  if (current !== null) {
    const runtime = await current.promise;
    const wanted = parseChoice(options.prefer, 'prefer');
    const have = CANDIDATES.find((c) => c.packageName === runtime.package)?.choice;
    if (wanted !== undefined && wanted !== have) {
      throw new TfBackendError(
        `TensorFlow.js already runs on '${have ?? runtime.backend}'; cannot switch to '${wanted}' in this process`,
        'prefer',
      );
    }
    return runtime;
  }
  const promise = selectTfBackend(options.prefer, {
    env: process.env,
    importModule: (specifier) => import(specifier),
    activate,
    describeDevice,
    gpuInUse,
    logger: options.logger,
  });
  current = { prefer: options.prefer, promise };
  // A failed init may be retried (e.g. after fixing the env var).
  promise.catch(() => {
    if (current?.promise === promise) current = null;
  });
  return promise;
}
