export * from './service.js';
export * from './pools.js';
export * from './endpoints.js';
export * from './nodes.js';
export * from './election.js';
export * from './bgp-routes.js';
export * from './decide.js';
