export * from './table.js';
export * from './classes.js';
export * from './backends.js';
export * from './compile.js';
export * from './router.js';
