/**
 * `@fersweep/evaluator/testing`: hand-built trial events and sweeps for other workspaces' tests
 * (never imported by product code; the layer rule in eslint.config.js enforces it).
 */
export * from './fixtures.js';
