/**
 * One scenario suite, two API servers: integration tests run each scenario against the
 * development API server and against a real kube-apiserver, through this one door.
 */
import { startDevApiServer } from '@portico/dev-apiserver';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import { startKubeApiServer } from './control-plane.js';

export const API_SERVERS = ['development', 'kube-apiserver'] as const;
export type ApiServerKind = (typeof API_SERVERS)[number];

export interface TestApiServer {
  readonly kind: ApiServerKind;
  readonly url: string;
  kubeconfig(): string;
  close(): Promise<void>;
}

/**
 * Starts a fresh server of that kind with the namespace Portico runs in. A real kube-apiserver
 * refuses objects in a namespace that does not exist; the development one does too, so both
 * start with `portico-system`.
 */
export async function startTestApiServer(kind: ApiServerKind): Promise<TestApiServer> {
  const server = kind === 'development' ? await startDevApiServer({ port: 0 }) : await startKubeApiServer();
  await createNamespace(server.kubeconfig(), 'portico-system');
  return { kind, url: server.url, kubeconfig: () => server.kubeconfig(), close: () => server.close() };
}

async function createNamespace(kubeconfig: string, name: string): Promise<void> {
  const api = new ApiClient(kubeconfigCredentials(kubeconfig));
  try {
    await applyObject(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } finally {
    await api.close();
  }
}
