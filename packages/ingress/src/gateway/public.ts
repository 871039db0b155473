/**
 * What @portico/ingress offers of its Gateway API side (as `gatewayApi`): the controller the CLI
 * runs, and what the benchmarks and the cross-package tests drive. Everything else in gateway/ is
 * the package's own.
 */
export {
  backendEntries,
  compileGateways,
  GATEWAY_CONTROLLER_NAME,
  GatewayCompiler,
  GatewayController,
  gatewayServiceName,
  type GatewayTable,
  type GatewayTableSink,
  GatewayTableState,
  matchRoute,
  reservedGatewayPorts,
} from './index.js';
