export { Controller } from './controller.js';
