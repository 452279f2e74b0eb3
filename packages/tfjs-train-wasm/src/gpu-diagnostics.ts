/**
 * What a GPU trial needs and what this machine has, for the error a trial reports when the GPU
 * backend cannot load: the NVIDIA driver (nvidia-smi), the CUDA runtime (libcudart) and cuDNN
 * (libcudnn) versions found, against what tfjs-node-gpu 4.x's libtensorflow 2.9.1 was built for.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';

/** What tfjs-node-gpu 4.x (libtensorflow 2.9.1) needs. */
export const GPU_REQUIREMENTS = {
  libtensorflow: '2.9.1 (tfjs-node-gpu 4.x)',
  driver: '>= 450.80.02 (CUDA 11)',
  cuda: '11.2+ (libcudart.so.11.0)',
  cudnn: '8.1+ (libcudnn.so.8)',
} as const;

export const NOT_FOUND = 'not found';

/** The versions found on this machine; {@link NOT_FOUND} where a piece is absent. */
export interface GpuEnvironment {
  driver: string;
  /** GPU model and compute capability, e.g. "NVIDIA H100 80GB HBM3 (sm_90)". */
  gpu: string;
  cuda: string;
  cudnn: string;
}

export interface DiagnosticsDeps {
  /** Runs a command; resolves its stdout, rejects when it is absent or fails. */
  run: (cmd: string, args: string[]) => Promise<string>;
  /** File names in a directory ([] when it does not exist). */
  list: (dir: string) => Promise<string[]>;
  env: Record<string, string | undefined>;
}

const defaultDeps: DiagnosticsDeps = {
  run: (cmd, args) =>
    new Promise((resolve, reject) =>
      execFile(cmd, args, { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    ),
  list: (dir) => readdir(dir).catch(() => []),
  env: process.env,
};

/** Where the dynamic loader looks for libcudart/libcudnn in the CUDA images and Debian/Ubuntu. */
function libraryDirs(env: Record<string, string | undefined>): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [
    ...fromEnv,
    '/usr/local/cuda/lib64',
    '/usr/local/cuda/targets/x86_64-linux/lib',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
  ];
}

/** The highest `lib<name>.so.X.Y[.Z]` version in the given file names. */
export function libraryVersion(files: string[], lib: string): string | undefined {
  const re = new RegExp(`^${lib}\\.so\\.(\\d+(?:\\.\\d+)+)$`);
  const versions = files.flatMap((f) => re.exec(f)?.[1] ?? []);
  const key = (v: string) => v.split('.').map((n) => Number(n));
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  });
  return versions.pop();
}

/** Driver, GPU, CUDA runtime and cuDNN versions of this machine (never throws). */
export async function gpuEnvironment(overrides: Partial<DiagnosticsDeps> = {}): Promise<GpuEnvironment> {
  const deps = { ...defaultDeps, ...overrides };
  let driver: string = NOT_FOUND;
  let gpu: string = NOT_FOUND;
  try {
    const out = await deps.run('nvidia-smi', ['--query-gpu=driver_version,name,compute_cap', '--format=csv,noheader']);
    const [version, name, cap] = (out.split('\n')[0] ?? '').split(',').map((s) => s.trim());
    if (version) driver = version;
    if (name) gpu = cap ? `${name} (sm_${cap.replace('.', '')})` : name;
  } catch {
    // no nvidia-smi: no driver mounted into the container (no GPU allocated, or no NVIDIA runtime)
  }
  const files = (await Promise.all(libraryDirs(deps.env).map((d) => deps.list(d)))).flat();
  return {
    driver,
    gpu,
    cuda: libraryVersion(files, 'libcudart') ?? NOT_FOUND,
    cudnn: libraryVersion(files, 'libcudnn') ?? NOT_FOUND,
  };
}

/** One line for the trial's status: found vs needed. */
export function describeGpuEnvironment(found: GpuEnvironment): string {
  return (
    `found: NVIDIA driver ${found.driver}, GPU ${found.gpu}, CUDA runtime ${found.cuda}, cuDNN ${found.cudnn}; ` +
    `needed by libtensorflow ${GPU_REQUIREMENTS.libtensorflow}: driver ${GPU_REQUIREMENTS.driver}, ` +
    `CUDA runtime ${GPU_REQUIREMENTS.cuda}, cuDNN ${GPU_REQUIREMENTS.cudnn}`
  );
}
