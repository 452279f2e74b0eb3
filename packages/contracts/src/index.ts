export * from './labels.js';
export * from './dataset.js';
export * from './keys.js';
export * from './augmentation.js';
