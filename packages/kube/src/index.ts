export * from './kubeconfig.js';
export * from './errors.js';
export * from './informer.js';
export * from './status.js';
export * from './events.js';
export * from './leader.js';
export * from './ops-server.js';
export * from './apply.js';
