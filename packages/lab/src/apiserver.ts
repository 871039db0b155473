/**
 * The lab's API server, of one of two kinds, as a detached background process recorded in the
 * state (`pids.apiserver`, then `apiServer` once it answers):
 *
 * - `dev` (the default): `portico dev apiserver --host 203.0.113.254`, the embedded development
 *   API server (plain HTTP, no credentials, in memory). Nothing to build.
 * - `kube`: a real kube-apiserver and etcd (`kube-apiserver.ts`, with `startKubeApiServer()`),
 *   data in DIR/kube, relayed onto 203.0.113.254; HTTPS with the admin token. The binaries are
 *   built from the pinned Go modules on first use (Go needed), then come from the cache.
 *
 * Either way DIR/kubeconfig is written by the server process once it listens, and serves both
 * the host (kubectl, the controller) and the node namespaces.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LabApi } from './api.js';
import { SEGMENT } from './plan.js';
import { alive, background, labProgram, PORTICO, sleep } from './shell.js';
import type { ApiServerKind, LabState } from './state.js';

export const API_SERVER_KINDS: readonly ApiServerKind[] = ['dev', 'kube'];

/** Where a kube-apiserver lab keeps etcd's data, the certificates and the control plane's logs. */
export const kubeDataDir = (dir: string) => join(dir, 'kube');

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Finds (or builds, printing progress) the pinned kube-apiserver, etcd and kubectl. Run before the
 * lab changes anything, so a missing Go fails `up` at once. Returns the Kubernetes version and
 * where kubectl is.
 */
export async function prepareKubeApiServer(say: (line: string) => void): Promise<{
  version: string;
  kubectl: string;
}> {
  const { ensureBinaries } = await import('@portico/dev-kube-apiserver');
  const binaries = await ensureBinaries({ progress: (line) => say(`    ${line}`) });
  return { version: binaries.version, kubectl: binaries.kubectl };
}

/**
 * Starts the API server of KIND in the background, records its pid at once (`save`) and waits
 * until it answers; then records kind, URL and version. Returns a client for it.
 */
export async function startApiServer(
  kind: ApiServerKind,
  state: LabState,
  save: () => void,
): Promise<LabApi> {
  const log = join(state.dir, 'apiserver.log');
  if (kind === 'dev') {
    const port = await freePort(SEGMENT.host4);
    state.pids.apiserver = background(
      process.execPath,
      [
        PORTICO,
        'dev',
        'apiserver',
        '--host',
        SEGMENT.host4,
        '--port',
        String(port),
        '--kubeconfig-out',
        state.kubeconfig,
      ],
      log,
    );
  } else {
    state.pids.apiserver = background(
      process.execPath,
      [labProgram('kube-apiserver'), kubeDataDir(state.dir), state.kubeconfig, SEGMENT.host4],
      log,
    );
  }
  save();
  // A real control plane needs etcd and every kube-apiserver post-start hook: allow it longer.
  const api = await waitUntilServing(state, log, kind === 'dev' ? 20_000 : 150_000);
  state.apiServer = { kind, url: api.server, version: await api.version() };
  save();
  return api;
}

/** Polls the kubeconfig and /readyz; fails early, with the end of the log, if the process exits. */
async function waitUntilServing(state: LabState, log: string, timeoutMs: number): Promise<LabApi> {
  const pid = state.pids.apiserver!;
  const deadline = Date.now() + timeoutMs;
  const tail = () => {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return text.trimEnd().split('\n').slice(-15).join('\n');
  };
  for (;;) {
    if (existsSync(state.kubeconfig)) {
      // The server writes the file with a plain write: until it is complete it does not parse.
      const api = (() => {
        try {
          return LabApi.fromKubeconfig(state.kubeconfig);
        } catch {
          return undefined;
        }
      })();
      if (api && (await api.ready().catch(() => false))) return api;
    }
    if (!alive(pid)) throw new Error(`the API server exited while starting; the end of ${log}:\n${tail()}`);
    if (Date.now() >= deadline)
      throw new Error(
        `the API server did not answer within ${timeoutMs / 1000}s; the end of ${log}:\n${tail()}`,
      );
    await sleep(200);
  }
}
