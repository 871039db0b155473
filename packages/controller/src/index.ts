export * from './controller.js';
export * from './converge.js';
export * from './service-request.js';
