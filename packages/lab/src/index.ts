/**
 * @portico/lab: the whole system on one Linux host (docs/lab.md). A development tool: the CLI
 * loads it only when `portico lab` runs, and the image leaves it out.
 *
 * Exported: the `portico lab` subcommands, and the pieces the lab's end-to-end tests and
 * benchmarks drive directly (the address plan, the state file, workloads, the router's view).
 */
export { down, status, up, type LabCommand } from './commands.js';
export {
  CLIENT,
  NODES,
  PINNED_POOL,
  podIp,
  poolConfig,
  POOLS,
  PREFIX,
  ROUTER,
  SEGMENT,
  type LabNode,
} from './plan.js';
export { readState, writeState, type LabState } from './state.js';
export { LabApi } from './api.js';
export { KubeProxyStandIn } from './kube-proxy.js';
export { forwardingRules, type EndpointSlice, type Service } from './proxy-rules.js';
export { convertedPoolResources, poolResources } from './objects.js';
export { addNodeRoutes } from './topology.js';
export { routerCli, routerNextHops, routerPids } from './router.js';
export { startSpeaker } from './speaker.js';
export { addService, startPod, stopPod, type Lab } from './workloads.js';
export { allocatedIps } from './services.js';
export { sleep } from './shell.js';
