import { existsSync } from 'node:fs';

/**
 * One jest run for the whole workspace. Sources are TypeScript ES modules, transformed by swc
 * (type-checking is `tsc -b`'s job). Siblings resolve to their src/index.ts so tests never need a build.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  moduleNameMapper: {
    // The app's package keeps its published name (`@fersweep/cli`) in apps/fersweep.
    '^@fersweep/cli$': '<rootDir>/apps/fersweep/src/index.ts',
    '^@fersweep/([a-z-]+)$': [
      '<rootDir>/packages/$1/src/index.ts',
      '<rootDir>/services/$1/src/index.ts',
      '<rootDir>/test/$1/src/index.ts',
    ],
    // Subpath entries (package.json "exports"): the model registry's params without TensorFlow.js, the kernel
    // strategies the benchmark compares, and the runtime's jest helpers (test-only: not built).
    '^@fersweep/models/params$': '<rootDir>/packages/models/src/params.ts',
    '^@fersweep/tfjs-train-wasm/strategies$': '<rootDir>/packages/tfjs-train-wasm/src/strategies.ts',
    '^@fersweep/tfjs-train-wasm/testing$': '<rootDir>/packages/tfjs-train-wasm/src/testing/index.ts',
    // Test helpers a service offers other workspaces' tests (package.json "./testing"; never in dist).
    '^@fersweep/(coordinator|evaluator)/testing$': '<rootDir>/services/$1/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  roots: ['apps', 'packages', 'services', 'test'].filter((d) => existsSync(d)).map((d) => `<rootDir>/${d}`),
  testTimeout: 60_000,
  reporters: ['default', 'summary'],
};
