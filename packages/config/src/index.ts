export * from './model.js';
export * from './ip.js';
