/**
 * @fersweep/tfjs-train-wasm/testing — helpers for checking kernels numerically against the cpu backend under jest
 * (it imports `@jest/globals`). Resolved from source by jest and tsconfig.test.json; not part of the build.
 */
export { expectSameOnBothBackends, randomArray, relativeError, runOn, wasmDataIds, withKernel } from './compare.js';
export { wasmTrap } from './wasm-trap.js';
