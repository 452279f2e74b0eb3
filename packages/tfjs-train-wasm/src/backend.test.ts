import { describe, expect, it } from '@jest/globals';
import {
  BACKEND_ENV_VAR,
  initTf,
  selectTfBackend,
  TfBackendError,
  type SelectDeps,
  type TfRuntime,
} from './backend.js';

function notFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
}

/** Fake loader: `present` packages import, others fail like an absent optionalDependency. */
function fakeDeps(present: string[], env: Record<string, string> = {}) {
  const imported: string[] = [];
  const activated: string[] = [];
  const warnings: string[] = [];
  const deps: SelectDeps = {
    env,
    importModule: async (specifier) => {
      imported.push(specifier);
      if (!present.includes(specifier)) throw notFound(specifier);
      return {};
    },
    activate: async (name: TfRuntime['backend']) => {
      activated.push(name);
      return true;
    },
    describeDevice: async (choice) => `device:${choice}`,
    logger: { info: () => undefined, warn: (m) => void warnings.push(m) },
  };
  return { deps, imported, activated, warnings };
}

const ALL = [
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-cpu',
];

describe('selectTfBackend', () => {
  it('tries tfjs-node-gpu, then tfjs-node, then wasm, and takes the first that loads', async () => {
    const { deps, imported, activated, warnings } = fakeDeps(ALL.slice(2));
    const runtime = await selectTfBackend(undefined, deps);
    expect(imported).toEqual(ALL.slice(0, 3));
    expect(activated).toEqual(['wasm']);
    expect(runtime).toEqual({ backend: 'wasm', device: 'device:wasm', package: '@tensorflow/tfjs-backend-wasm' });
    expect(warnings).toEqual([]); // absent optional packages are expected, not warned about
  });

  it('prefers tfjs-node-gpu when it is installed', async () => {
    const { deps } = fakeDeps(ALL);
    await expect(selectTfBackend(undefined, deps)).resolves.toMatchObject({
      backend: 'tensorflow',
      package: '@tensorflow/tfjs-node-gpu',
    });
  });

  it('falls back to cpu when nothing else loads, and warns about packages that are present but broken', async () => {
    const { deps, warnings } = fakeDeps(['@tensorflow/tfjs-backend-cpu']);
    const importModule = deps.importModule;
    deps.importModule = async (s) => {
      if (s === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so: cannot open shared object file');
      return importModule(s);
    };
    await expect(selectTfBackend(undefined, deps)).resolves.toMatchObject({ backend: 'cpu' });
    expect(warnings).toHaveLength(1);
  });

  it.each([
    ['gpu', '@tensorflow/tfjs-node-gpu'],
    ['node', '@tensorflow/tfjs-node'],
    ['wasm', '@tensorflow/tfjs-backend-wasm'],
    ['cpu', '@tensorflow/tfjs-backend-cpu'],
  ])(`${BACKEND_ENV_VAR}=%s loads only %s`, async (choice, pkg) => {
    const { deps, imported } = fakeDeps(ALL, { [BACKEND_ENV_VAR]: choice });
    await expect(selectTfBackend(undefined, deps)).resolves.toMatchObject({ package: pkg });
    expect(imported).toEqual([pkg]);
  });

  it('lets the prefer option win over the environment variable', async () => {
    const { deps } = fakeDeps(ALL, { [BACKEND_ENV_VAR]: 'gpu' });
    await expect(selectTfBackend('cpu', deps)).resolves.toMatchObject({ backend: 'cpu' });
  });

  it('rejects an unknown value with an error that names the variable and the valid values', async () => {
    const { deps, imported } = fakeDeps(ALL, { [BACKEND_ENV_VAR]: 'tpu' });
    const err = await selectTfBackend(undefined, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TfBackendError);
    expect((err as TfBackendError).source).toBe(BACKEND_ENV_VAR);
    expect((err as Error).message).toMatch(/FERSWEEP_TF_BACKEND='tpu'.*gpu, node, wasm, cpu/);
    expect(imported).toEqual([]);
  });

  it('fails, rather than falling back, when the forced backend is not installed', async () => {
    const { deps } = fakeDeps(ALL.slice(2), { [BACKEND_ENV_VAR]: 'gpu' });
    await expect(selectTfBackend(undefined, deps)).rejects.toThrow(
      /FERSWEEP_TF_BACKEND asks for the 'gpu' backend but @tensorflow\/tfjs-node-gpu failed to load/,
    );
    await expect(selectTfBackend(undefined, deps)).rejects.toMatchObject({ backend: 'gpu' });
  });

  it('fails when a forced gpu backend loads but CUDA found no GPU (tfjs-node-gpu would run on the CPU)', async () => {
    const { deps } = fakeDeps(ALL, { [BACKEND_ENV_VAR]: 'gpu' });
    await expect(selectTfBackend(undefined, { ...deps, gpuInUse: () => false })).rejects.toThrow(
      /loaded but CUDA found no usable GPU, so it would train on the CPU/,
    );
    await expect(selectTfBackend(undefined, { ...deps, gpuInUse: () => true })).resolves.toMatchObject({
      package: '@tensorflow/tfjs-node-gpu',
    });
    // Not forced (a local run): the CPU fallback of tfjs-node-gpu is accepted as before.
    const { deps: free } = fakeDeps(ALL);
    await expect(selectTfBackend(undefined, { ...free, gpuInUse: () => false })).resolves.toMatchObject({
      package: '@tensorflow/tfjs-node-gpu',
    });
  });
});

describe('initTf', () => {
  it('picks wasm on this machine (no tfjs-node), describes it, and is idempotent', async () => {
    const saved = process.env[BACKEND_ENV_VAR];
    delete process.env[BACKEND_ENV_VAR];
    try {
      const first = await initTf();
      expect(first.backend).toBe('wasm');
      expect(first.device).toMatch(/^wasm( simd)?, \d+ threads?$/);
      await expect(initTf()).resolves.toBe(first);
      await expect(initTf({ prefer: 'cpu' })).rejects.toThrow(/already runs on 'wasm'/);
      const tf = await import('@tensorflow/tfjs');
      expect(tf.getBackend()).toBe('wasm');
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    } finally {
      if (saved !== undefined) process.env[BACKEND_ENV_VAR] = saved;
    }
  });
});
