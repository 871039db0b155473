/**
 * The lab's real control plane as one background process (`lab up --apiserver kube`): etcd and
 * kube-apiserver from `startKubeApiServer()` (loopback only, data in DATA_DIR), and a TCP relay
 * from ADDRESS:PORT on the lab segment to kube-apiserver's 127.0.0.1:PORT, because the speakers,
 * kube-proxy stand-ins and the ingress run in node namespaces that cannot see the host's loopback.
 *
 * TLS passes through the relay untouched. The serving certificate names 127.0.0.1 and `localhost`,
 * not the segment address, so the kubeconfig written to KUBECONFIG_OUT (once everything answers)
 * says `tls-server-name: localhost`: clients connect to ADDRESS and check the certificate against
 * that name. It authenticates with the admin bearer token.
 *
 * On SIGTERM or SIGINT it closes the relay and stops kube-apiserver, then etcd; their data stays
 * in DATA_DIR for `lab down` to remove. etcd and kube-apiserver run under `setpriv --pdeathsig`,
 * so they die with this process even when it is killed outright.
 *
 *   node kube-apiserver.js DATA_DIR KUBECONFIG_OUT ADDRESS
 */
import { renameSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startKubeApiServer, type KubeApiServer } from '@portico/dev-kube-apiserver';

const [dataDir = '', kubeconfigOut = '', address = ''] = process.argv.slice(2);
if (!dataDir || !kubeconfigOut || !address) {
  console.error('usage: kube-apiserver.js DATA_DIR KUBECONFIG_OUT ADDRESS');
  process.exit(2);
}

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...extra }));

/** The kubeconfig for the relayed server: its CA, the name on its certificate, the admin token. */
function relayedKubeconfig(url: string, server: KubeApiServer): string {
  const name = 'portico-lab';
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: {
            server: url,
            'certificate-authority-data': Buffer.from(server.caCert).toString('base64'),
            'tls-server-name': 'localhost',
          },
        },
      ],
      users: [{ name: 'portico-admin', user: { token: server.adminToken } }],
      contexts: [{ name, context: { cluster: name, user: 'portico-admin', namespace: 'default' } }],
      'current-context': name,
    },
    null,
    2,
  )}\n`;
}

const sockets = new Set<Socket>();

function relay(port: number): Server {
  return createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
}

/** Listens on ADDRESS, on kube-apiserver's own port when it is free there, else on any. */
async function listen(server: Server, port: number): Promise<number> {
  for (const p of [port, 0]) {
    const bound = await new Promise<number | undefined>((resolve) => {
      const fail = () => resolve(undefined);
      server.once('error', fail);
      server.listen(p, address, () => {
        server.off('error', fail);
        resolve((server.address() as { port: number }).port);
      });
    });
    if (bound !== undefined) return bound;
  }
  throw new Error(`cannot listen on ${address}`);
}

async function main(): Promise<void> {
  const running: { kube?: KubeApiServer; relay?: Server } = {};
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping kube-apiserver and etcd', { signal });
    running.relay?.close();
    for (const s of sockets) s.destroy();
    // Stopped while still starting: etcd and kube-apiserver die with us (pdeathsig).
    await running.kube?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const kube = await startKubeApiServer({ dataDir, progress: (line) => log(line) });
  running.kube = kube;
  const relayServer = relay(kube.port);
  running.relay = relayServer;
  const port = await listen(relayServer, kube.port);
  const url = `https://${address}:${port}`;
  writeFileSync(`${kubeconfigOut}.partial`, relayedKubeconfig(url, kube), { mode: 0o600 });
  renameSync(`${kubeconfigOut}.partial`, kubeconfigOut);
  log('kube-apiserver and etcd running', {
    url,
    loopback: kube.url,
    version: kube.version,
    dataDir: kube.dataDir,
    kubectl: kube.binaries.kubectl,
  });
}

main().catch((err: unknown) => {
  log('cannot start kube-apiserver', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
