/**
 * A real Kubernetes control plane on loopback for tests and the lab: etcd and kube-apiserver built
 * from the pinned Go modules, RBAC authorization on, a serving certificate, a ServiceAccount token
 * signer and an admin identity of its own. There is no kube-controller-manager: nothing creates
 * EndpointSlices, deletes namespaces or collects garbage (tests create what they need).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { ensureBinaries, type Binaries, type BuildOptions } from './build.js';
import { ControlPlaneProcess } from './child.js';
import { writeCredentials, type Credentials } from './credentials.js';
import { processAlive } from './process-alive.js';
import { retryLostPortRace } from './port-race.js';
import { kubeconfigYaml } from './kubeconfig.js';

export interface KubeApiServerOptions extends BuildOptions {
  /** kube-apiserver's secure port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Data directory (etcd data, certificates, logs). Default: a new temporary one, removed on close. */
  dataDir?: string;
  /**
   * Serve lists and watches from etcd instead of the watch cache, so that a compacted
   * resourceVersion is answered with 410 Gone at once (tests of informers' relists).
   */
  watchCache?: boolean;
  /** Extra kube-apiserver flags (`--name=value`). */
  extraArgs?: string[];
}

export interface KubeApiServer {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  readonly dataDir: string;
  readonly binaries: Binaries;
  /** Admin bearer token (group system:masters). */
  readonly adminToken: string;
  /** PEM of the CA to trust (the self-signed serving certificate). */
  readonly caCert: string;
  /** An admin client certificate and key (user `portico-admin-cert`, group system:masters). */
  readonly adminClientCert: { readonly cert: string; readonly key: string };
  /** An admin kubeconfig (YAML), context `portico-kube`. */
  kubeconfig(): string;
  /** A kubeconfig that authenticates with a bearer token instead (e.g. a ServiceAccount's). */
  kubeconfigForToken(token: string, user?: string): string;
  /** Compacts etcd up to its current revision, so older resourceVersions expire (410 Gone). */
  compact(): Promise<number>;
  /** Restarts kube-apiserver alone; etcd and its data stay. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const binaries = await ensureBinaries(options);
  const ownDir = options.dataDir === undefined;
  if (ownDir) removeAbandonedDataDirs();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'owner.pid'), String(process.pid));
  let port = options.port || (await freePort());
  if (options.port) await assertPortFree(options.port);
  let etcd: ControlPlaneProcess | undefined;
  let apiserver: ControlPlaneProcess | undefined;
  const cleanUp = async () => {
    await apiserver?.stop();
    await etcd?.stop();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const credentials = await writeCredentials(dataDir);
    const etcdUrl = await retryLostPortRace(
      async () => {
        const [client, peer] = [await freePort(), await freePort()];
        const url = `http://127.0.0.1:${client}`;
        etcd = new ControlPlaneProcess(
          'etcd',
          binaries.etcd,
          [
            '--name=portico',
            `--data-dir=${join(dataDir, 'etcd')}`,
            `--listen-client-urls=${url}`,
            `--advertise-client-urls=${url}`,
            `--listen-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-cluster=portico=http://127.0.0.1:${peer}`,
            // A test store: losing the last writes on a power cut does not matter, fsync latency does.
            '--unsafe-no-fsync',
            '--log-level=warn',
          ],
          join(dataDir, 'etcd.log'),
        );
        await etcd.waitUntil(async () => (await getJson(`${url}/health`))?.health === 'true', 30_000);
        return url;
      },
      async () => {
        await etcd?.stop();
        // It exited on its port before serving, but may have bootstrapped fresh data for that port
        // (a data directory given by the caller keeps what it had).
        if (ownDir) rmSync(join(dataDir, 'etcd'), { recursive: true, force: true });
      },
    );

    const start = async () => {
      apiserver = new ControlPlaneProcess(
        'kube-apiserver',
        binaries.kubeApiserver,
        apiserverArgs(port, etcdUrl, credentials, options),
        join(dataDir, 'kube-apiserver.log'),
      );
      await apiserver.waitUntil(() => readyz(port, credentials), 90_000);
    };
    if (options.port) await start();
    else
      await retryLostPortRace(start, async () => {
        await apiserver?.stop();
        port = await freePort();
      });

    const url = `https://127.0.0.1:${port}`;
    const kubeconfigForToken = (token: string, user = 'portico-admin') =>
      kubeconfigYaml({ url, caCert: credentials.servingCert, token, user, context: 'portico-kube' });
    return {
      url,
      port,
      version: binaries.version,
      dataDir,
      binaries,
      adminToken: credentials.adminToken,
      caCert: credentials.servingCert,
      adminClientCert: credentials.adminClientCert,
      kubeconfig: () => kubeconfigForToken(credentials.adminToken),
      kubeconfigForToken,
      compact: () => compactEtcd(etcdUrl),
      restart: async () => {
        await apiserver?.stop();
        await start();
      },
      close: cleanUp,
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

const TEMP_PREFIX = 'portico-kube-';

/**
 * A process killed outright (SIGKILL, OOM) cannot remove its temporary data directory; its
 * etcd and kube-apiserver die with it (pdeathsig). The next start removes such leftovers: a
 * temporary directory of ours whose owner process is gone.
 */
function removeAbandonedDataDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not fully created yet, or not ours to judge
    }
    if (!processAlive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

function apiserverArgs(
  port: number,
  etcdUrl: string,
  c: Credentials,
  options: KubeApiServerOptions,
): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    // A loopback advertise address cannot be written into the kubernetes Endpoints; nobody needs it here.
    '--endpoint-reconciler-type=none',
    `--tls-cert-file=${c.files.servingCert}`,
    `--tls-private-key-file=${c.files.servingKey}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${c.files.tokens}`,
    `--client-ca-file=${c.files.clientCa}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${c.files.serviceAccountPublic}`,
    `--service-account-signing-key-file=${c.files.serviceAccountPrivate}`,
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    // The same Service networks the development API server allocates from.
    '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
    '--service-node-port-range=30000-32767',
    // No pods are created, and no controller would make their default ServiceAccount.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--profiling=false',
    // With a watch open, kube-apiserver otherwise waits for it before exiting on SIGTERM, so every
    // restart() and close() would take the full grace period.
    '--shutdown-watch-termination-grace-period=1s',
    `--watch-cache=${options.watchCache ?? true}`,
    ...(options.extraArgs ?? []),
  ];
}

function readyz(port: number, c: Credentials): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/readyz',
        ca: c.servingCert,
        agent: false, // a one-off probe: no pooled connection
        headers: { authorization: `Bearer ${c.adminToken}` },
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function getJson(url: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
}

/** etcd's JSON gateway: read the current revision, compact to it (physically, so it is final). */
async function compactEtcd(etcdUrl: string): Promise<number> {
  const status = await getJson(`${etcdUrl}/v3/maintenance/status`, {});
  const revision = Number((status?.header as { revision?: string } | undefined)?.revision);
  if (!Number.isSafeInteger(revision))
    throw new Error(`etcd status without a revision: ${JSON.stringify(status)}`);
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!res.ok) throw new Error(`etcd compaction to ${revision} failed: ${res.status} ${await res.text()}`);
  return revision;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is in use: stop what listens there or choose another --port`
            : `cannot listen on 127.0.0.1:${port}: ${err.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
