export * from './labels.js';
export * from './dataset.js';
export * from './keys.js';
export * from './augmentation.js';
export * from './ids.js';
export * from './trial.js';
export * from './events.js';
export * from './sweep.js';
