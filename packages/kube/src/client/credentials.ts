/**
 * Where the API server is and how to prove who we are, resolved from a kubeconfig file or from a
 * pod's ServiceAccount, without loading @kubernetes/client-node's generated models. Supported:
 * bearer tokens (inline, from a file that is re-read as it rotates, or from an exec credential
 * plugin), client certificates, a CA or insecure-skip-tls-verify.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ExecCredentialPlugin, type ExecConfig } from './exec-credential.js';

export interface TlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecureSkipTlsVerify: boolean;
  /** tls-server-name: the name to check the server certificate against. */
  readonly serverName?: string;
}

/** Gives the bearer token for the next request (and a fresh one after a 401). */
export interface TokenSource {
  token(): Promise<string | undefined>;
  /** The server refused the token: read or fetch it anew next time. */
  invalidate(): void;
}

export interface ApiServerCredentials {
  readonly server: string;
  readonly tls: TlsSettings;
  readonly tokens: TokenSource;
  /** The namespace of the context (or of the pod), default `default`. */
  readonly namespace: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const noToken: TokenSource = { token: async () => undefined, invalidate: () => {} };

/** A token re-read from its file at most every `maxAgeMs`, and at once after a 401: kubelet rotates it. */
export function fileTokenSource(path: string, maxAgeMs = 60_000): TokenSource {
  let cached: { token: string; readAt: number } | undefined;
  return {
    token: async () => {
      if (!cached || Date.now() - cached.readAt > maxAgeMs)
        cached = { token: readFileSync(path, 'utf8').trim(), readAt: Date.now() };
      return cached.token;
    },
    invalidate: () => (cached = undefined),
  };
}

/** In a pod: the API server from the environment, the ServiceAccount's token, CA and namespace. */
export function inClusterCredentials(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): ApiServerCredentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new Error('in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), insecureSkipTlsVerify: false },
    tokens: fileTokenSource(join(dir, 'token')),
    namespace: readFileSync(join(dir, 'namespace'), 'utf8').trim(),
  };
}

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: ExecConfig;
  username?: string;
  'auth-provider'?: unknown;
}

/** The current context of a kubeconfig (YAML text); relative file paths are read from `baseDir`. */
export function kubeconfigCredentials(
  text: string,
  baseDir = process.cwd(),
  context?: string,
): ApiServerCredentials {
  const doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const pick = <T>(list: string, name: string | undefined, field: string): T => {
    const entries = (doc[list] ?? []) as NamedEntry<T>[];
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw new Error(`kubeconfig: ${list} has no entry named ${JSON.stringify(name)}`);
    return (entry[field] ?? {}) as T;
  };
  const contextName = context ?? (doc['current-context'] as string | undefined);
  if (!contextName) throw new Error('kubeconfig: no current-context');
  const ctx = pick<{ cluster?: string; user?: string; namespace?: string }>(
    'contexts',
    contextName,
    'context',
  );
  const cluster = pick<KubeconfigCluster>('clusters', ctx.cluster, 'cluster');
  const user = ctx.user ? pick<KubeconfigUser>('users', ctx.user, 'user') : {};
  if (!cluster.server) throw new Error(`kubeconfig: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  if (user['auth-provider'])
    throw new Error(
      `kubeconfig: user ${JSON.stringify(ctx.user)} uses an auth-provider, which is not supported; use exec`,
    );
  if (user.username)
    throw new Error(`kubeconfig: user ${JSON.stringify(ctx.user)} uses basic auth, which is not supported`);

  const path = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const data = (inline: string | undefined, file: string | undefined) =>
    inline
      ? Buffer.from(inline, 'base64').toString('utf8')
      : file
        ? readFileSync(path(file), 'utf8')
        : undefined;

  let tokens = noToken;
  if (user.token) tokens = { token: async () => user.token, invalidate: () => {} };
  else if (user.tokenFile) tokens = fileTokenSource(path(user.tokenFile));
  else if (user.exec) tokens = new ExecCredentialPlugin(user.exec, server(cluster), baseDir);

  return {
    server: server(cluster),
    tls: {
      ca: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
      cert: data(user['client-certificate-data'], user['client-certificate']),
      key: data(user['client-key-data'], user['client-key']),
      insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
      serverName: cluster['tls-server-name'],
    },
    tokens,
    namespace: ctx.namespace ?? 'default',
  };
}

function server(cluster: KubeconfigCluster): string {
  return cluster.server!.replace(/\/+$/, '');
}

/** An explicit kubeconfig file wins; otherwise the pod's ServiceAccount. */
export function loadCredentials(file?: string): ApiServerCredentials {
  if (file) return kubeconfigCredentials(readFileSync(file, 'utf8'), dirname(file));
  try {
    return inClusterCredentials();
  } catch {
    throw new Error('no Kubernetes API configured: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod');
  }
}
