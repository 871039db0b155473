export { startDevApiServer, type DevApiServer, type DevApiServerOptions } from './server.js';
export { devKubeconfig } from './kubeconfig.js';
