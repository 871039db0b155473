/**
 * The lab's kube-proxy stand-in as a program, one per node namespace (see kube-proxy.ts): Service
 * IPs are routed to `lo` as local addresses (`ip route replace local IP dev lo table local`), so
 * the node accepts packets for them; arp_ignore=1 and NDP's rules keep it from answering for them.
 *
 *   node node-proxy.js KUBECONFIG NODE_NAME
 */
import { spawnSync } from 'node:child_process';
import { connectKube } from '@portico/kube';
import { KubeProxyStandIn } from './kube-proxy.js';

const [kubeconfig, nodeName] = process.argv.slice(2);
if (!kubeconfig || !nodeName) {
  console.error('usage: node-proxy.js KUBECONFIG NODE_NAME');
  process.exit(2);
}

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), node: nodeName, msg, ...extra }));

function route(action: 'replace' | 'del', ip: string): void {
  const family = ip.includes(':') ? '-6' : '-4';
  const len = ip.includes(':') ? 128 : 32;
  spawnSync('ip', [family, 'route', action, 'local', `${ip}/${len}`, 'dev', 'lo', 'table', 'local'], {
    stdio: 'ignore',
  });
}

const proxy = new KubeProxyStandIn({ api: connectKube(kubeconfig), nodeName, route, log });
void proxy.start();

const stop = () => {
  // The routes go synchronously in stop(); do not wait long for the watches to close.
  setTimeout(() => process.exit(0), 2_000).unref();
  void proxy.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
