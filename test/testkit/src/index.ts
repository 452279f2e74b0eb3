export * from './servers.js';
export * from './keras-fixture.js';
export * from './promtool.js';
