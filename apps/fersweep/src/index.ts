export { buildProgram, run } from './main.js';
export { reportError, UsageError } from './errors.js';
export { resolveServedDataset, trainerCommand } from './wiring.js';
