/**
 * A minimal Kubernetes REST client for the lab's own bookkeeping (the parts a kubelet and the
 * endpoints controller would write): create-or-replace including the status subresource, list,
 * delete. It speaks to both of the lab's API servers: the development one (plain HTTP, no
 * credentials) and a real kube-apiserver (HTTPS with the kubeconfig's CA and server name, and the
 * admin bearer token).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { kubeconfigCredentials, type TokenSource } from '@portico/kube';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

const PLURALS: Record<string, string> = {
  Node: 'nodes',
  Pod: 'pods',
  Service: 'services',
  ConfigMap: 'configmaps',
  Namespace: 'namespaces',
  EndpointSlice: 'endpointslices',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  GatewayClass: 'gatewayclasses',
  Gateway: 'gateways',
  HTTPRoute: 'httproutes',
  IPAddressPool: 'ipaddresspools',
  L2Advertisement: 'l2advertisements',
  BGPAdvertisement: 'bgpadvertisements',
  BGPPeer: 'bgppeers',
  Community: 'communities',
  BFDProfile: 'bfdprofiles',
  ConfigurationState: 'configurationstates',
};

/** How to reach an HTTPS API server: whom to trust, which name to check, which token to send. */
export interface LabApiAuth {
  /** PEM of the CA that signed the serving certificate. */
  ca?: string;
  /** The name the serving certificate is checked against (kubeconfig `tls-server-name`). */
  serverName?: string;
  /** Bearer tokens. */
  tokens?: TokenSource;
}

export class LabApi {
  private readonly agent: HttpAgent;

  constructor(
    readonly server: string,
    private readonly auth: LabApiAuth = {},
  ) {
    // Keep-alive sockets are unref'd while idle, so they never hold a finished command open.
    this.agent = server.startsWith('https:')
      ? new HttpsAgent({
          keepAlive: true,
          ...(auth.ca ? { ca: auth.ca } : {}),
          ...(auth.serverName ? { servername: auth.serverName } : {}),
        })
      : new HttpAgent({ keepAlive: true });
  }

  static fromKubeconfig(file: string): LabApi {
    const { server, tls, tokens } = kubeconfigCredentials(readFileSync(file, 'utf8'), dirname(file));
    return new LabApi(server, {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.serverName ? { serverName: tls.serverName } : {}),
      tokens,
    });
  }

  path(apiVersion: string, kind: string, namespace?: string, name?: string): string {
    const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = namespace ? `/namespaces/${namespace}` : '';
    return `${group}${ns}/${PLURALS[kind] ?? `${kind.toLowerCase()}s`}${name ? `/${name}` : ''}`;
  }

  /** One request; `json` is the parsed body when the server sent JSON, `text` the body as sent. */
  async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; text: string }> {
    const token = await this.auth.tokens?.token();
    const url = new URL(this.server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.agent, timeout: 5_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const isJson = /json/.test(res.headers['content-type'] ?? '') && text !== '';
          try {
            resolve({
              status: res.statusCode ?? 0,
              json: isJson ? (JSON.parse(text) as unknown) : undefined,
              text,
            });
          } catch (err) {
            reject(new Error(`${method} ${path}: unparsable JSON answer: ${(err as Error).message}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** True when the server answers /readyz with 200 (a real kube-apiserver: all its checks pass). */
  async ready(): Promise<boolean> {
    return (await this.request('GET', '/readyz')).status === 200;
  }

  /** The server's `/version` gitVersion, e.g. `v1.36.3`. */
  async version(): Promise<string> {
    const v = await this.get<{ gitVersion?: string }>('/version');
    if (!v?.gitVersion) throw new Error('GET /version: no gitVersion');
    return v.gitVersion;
  }

  async get<T>(path: string): Promise<T | undefined> {
    const r = await this.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw new Error(`GET ${path}: HTTP ${r.status} ${describe(r)}`);
    return r.json as T;
  }

  async list<T>(path: string): Promise<T[]> {
    const r = await this.get<{ items: T[] }>(path);
    return r?.items ?? [];
  }

  /** Creates or replaces OBJ; when it carries a status, writes that through /status as well. */
  async apply(obj: KubeObject): Promise<void> {
    const { namespace, name } = obj.metadata;
    const one = this.path(obj.apiVersion, obj.kind, namespace, name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get<KubeObject>(one);
      const body = {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: current?.metadata.resourceVersion },
      };
      const r = current
        ? await this.request('PUT', one, body)
        : await this.request('POST', this.path(obj.apiVersion, obj.kind, namespace), obj);
      if (r.status === 409) continue;
      if (r.status >= 300) throw new Error(`${obj.kind} ${name}: HTTP ${r.status} ${describe(r)}`);
      if (obj.status === undefined) return;
      // A real API server drops the status of a create (a Pod starts Pending): write it after.
      const written = r.json as KubeObject;
      const s = await this.request('PUT', `${one}/status`, { ...written, status: obj.status });
      if (s.status === 409) continue;
      if (s.status >= 300) throw new Error(`${obj.kind} ${name} status: HTTP ${s.status} ${describe(s)}`);
      return;
    }
    throw new Error(`${obj.kind} ${name}: kept conflicting`);
  }

  /**
   * Deletes an object at once. A Pod gets `gracePeriodSeconds=0`, as the kubelet's last delete
   * does: otherwise a real API server only marks it terminating and waits for a kubelet.
   */
  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    const query = kind === 'Pod' ? '?gracePeriodSeconds=0' : '';
    const r = await this.request('DELETE', this.path(apiVersion, kind, namespace, name) + query);
    if (r.status >= 300 && r.status !== 404)
      throw new Error(`delete ${kind} ${name}: HTTP ${r.status} ${describe(r)}`);
  }
}

/** A failed answer in a few words: a Status object's message, else the start of the body. */
function describe(r: { json: unknown; text: string }): string {
  const message = (r.json as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : r.text.slice(0, 300);
}
