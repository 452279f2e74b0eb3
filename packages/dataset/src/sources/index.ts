export * from './types.js';
export * from './fer2013-csv.js';
export * from './folder.js';
export * from './synthetic.js';
export * from './csv-writer.js';
