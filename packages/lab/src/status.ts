/** `portico lab status`: one object describing the lab, from its state file and the API. */
import { LabApi } from './api.js';
import { CLIENT, NODES, ROUTER } from './plan.js';
import {
  configurationStateReports,
  poolCounts,
  poolReports,
  type ConfigurationStateReport,
  type PoolReport,
} from './pools.js';
import { gatewayReports, serviceReports, type GatewayReport, type ServiceReport } from './services.js';
import { alive } from './shell.js';
import type { ConfigSourceKind, LabApiServer, LabState } from './state.js';

export interface LabStatus {
  clientNamespace: string;
  routerNamespace: string | null;
  router: string | null;
  nodeNamespaces: string[];
  kubeconfig: string;
  /**
   * Which API server runs: `kind` `dev` (the embedded development API server) or `kube` (a real
   * kube-apiserver with etcd), the `version` its /version answered, and its `url`. Null while
   * (or when) it never answered.
   */
  apiServer: LabApiServer | null;
  processes: Record<string, { pid: number; running: boolean }>;
  /** Where the pools are configured: metallb.io resources or the v0.12 ConfigMap. */
  configSource: ConfigSourceKind;
  /** The IPAddressPools with the counts the controller writes (none when run from the ConfigMap). */
  pools: PoolReport[];
  /** How the controller (and any other component) judged the configuration. */
  configurationStates: ConfigurationStateReport[];
  services: ServiceReport[];
  /** The demo Gateway with the addresses its status reports (none when the lab made none). */
  gateways: GatewayReport[];
}

export async function labStatus(state: LabState): Promise<LabStatus> {
  const processes = Object.fromEntries([
    ...Object.entries(state.pids).map(([k, pid]) => [k, { pid, running: alive(pid) }]),
    ...state.pods.map((p) => [`pod ${p.namespace}/${p.name}`, { pid: p.pid, running: alive(p.pid) }]),
  ]) as LabStatus['processes'];
  const services = await Promise.resolve()
    .then(() => serviceReports(LabApi.fromKubeconfig(state.kubeconfig), state.services))
    .catch(() => []);
  const gateways = await Promise.resolve()
    .then(() => gatewayReports(LabApi.fromKubeconfig(state.kubeconfig), state.gateway))
    .catch(() => []);
  const pools = await poolReports(LabApi.fromKubeconfig(state.kubeconfig)).catch(() => []);
  const configurationStates = await configurationStateReports(LabApi.fromKubeconfig(state.kubeconfig)).catch(
    () => [],
  );
  return {
    clientNamespace: CLIENT,
    routerNamespace: ROUTER,
    router: state.router ?? null,
    nodeNamespaces: NODES.map((n) => n.name),
    kubeconfig: state.kubeconfig,
    apiServer: state.apiServer ?? null,
    processes,
    // Labs from before the choice existed ran from the ConfigMap.
    configSource: state.configSource ?? 'configmap',
    pools,
    configurationStates,
    services,
    gateways,
  };
}

const API_SERVER_NAMES = { dev: 'development API server', kube: 'kube-apiserver (with etcd)' };

export function printStatus(s: LabStatus, say: (line: string) => void): void {
  say(`client namespace:  ${s.clientNamespace}`);
  say(`router namespace:  ${s.routerNamespace} (${s.router ?? 'no BGP daemon'})`);
  say(`node namespaces:   ${s.nodeNamespaces.join(', ')}`);
  const api = s.apiServer;
  say(
    `API server:        ${api ? `${API_SERVER_NAMES[api.kind]} ${api.version} at ${api.url}` : '<not answering yet>'}`,
  );
  say(`kubeconfig:        ${s.kubeconfig}   (export KUBECONFIG=${s.kubeconfig})`);
  say(
    `configuration:     ${s.configSource === 'resources' ? 'metallb.io resources in portico-system' : 'ConfigMap portico-system/config (MetalLB v0.12)'}`,
  );
  if (s.pools.length > 0) say('address pools (IPAddressPool status):');
  for (const p of s.pools) say(`  ${p.name} (${p.addresses.join(', ')}): ${poolCounts(p)}`);
  if (s.configurationStates.length > 0) say('configuration states:');
  for (const c of s.configurationStates)
    say(`  ${c.name}: ${c.result ?? '<not reported>'}${c.errorSummary ? ` (${c.errorSummary})` : ''}`);
  say('services:');
  for (const svc of s.services) {
    const how = svc.host ? ` -H 'Host: ${svc.host}'` : '';
    say(`  ${svc.namespace}/${svc.name} (${svc.pool}): ${svc.ips.join(', ') || '<pending>'}`);
    for (const url of svc.urls) say(`      ip netns exec ${s.clientNamespace} curl${how} ${url}`);
  }
  if (s.gateways.length > 0) say('gateways:');
  for (const gw of s.gateways) {
    say(
      `  ${gw.namespace}/${gw.name} (${gw.pool}): ${gw.ips.join(', ') || '<pending>'} (Programmed ${gw.programmed ?? '?'})`,
    );
    for (const url of gw.urls) say(`      ip netns exec ${s.clientNamespace} curl ${url}`);
  }
  say('processes:');
  for (const [name, p] of Object.entries(s.processes))
    say(`  ${name}: pid ${p.pid} ${p.running ? 'running' : 'STOPPED'}`);
}
