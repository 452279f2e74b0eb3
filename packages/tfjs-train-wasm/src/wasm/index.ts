/** The wasm code generator the kernels share: opcode table and encoding, locals, loop idioms, modules. */
export { addTo, copy, groupsOfFour, repeat, rowsByChannels, splatConstants, timesOrNone } from './control.js';
export { Locals } from './locals.js';
export { cachedKernel, encodeModule, instantiate } from './module.js';
export { core, F32, F64, I32, I64, op, simd, sleb, uleb, V128 } from './opcodes.js';
export type { CoreOp, SimdOp } from './opcode-table.js';
export {
  enableRelaxedSimd,
  initWasmSimd,
  madd,
  RELAXED_SIMD_ENV_VAR,
  RELAXED_SIMD_V8_FLAG,
  relaxedSimdSupported,
  setWasmSimdMode,
  wasmSimdMode,
  type WasmSimdMode,
} from './features.js';
