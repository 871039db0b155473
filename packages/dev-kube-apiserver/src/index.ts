export {
  ensureBinaries,
  pinnedKubernetesVersion,
  findGo,
  type Binaries,
  type BuildOptions,
} from './build.js';
export { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './control-plane.js';
export { kubeconfigYaml } from './kubeconfig.js';
export {
  API_SERVERS,
  startTestApiServer,
  type ApiServerKind,
  type TestApiServer,
} from './test-api-servers.js';
export { ensureMetallbBinaries, pinnedMetallbVersion, type MetallbBinaries } from './metallb.js';
export { hostEndpointAddress } from './endpoint-address.js';
export {
  GATEWAY_API_VERSION,
  gatewayApiCrdFiles,
  gatewayApiConformanceDir,
  gatewayApiModuleDir,
  installGatewayApiCrds,
  type GatewayApiCrdOptions,
} from './gateway-api-crds.js';
export { installMetallbCrds, metallbCrdFiles } from './metallb-crds.js';
