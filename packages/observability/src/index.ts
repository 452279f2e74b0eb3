export * from './logger.js';
export * from './metrics.js';
export * from './http-auth.js';
export * from './cores.js';
export * from './tenant-auth.js';
