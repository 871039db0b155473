/**
 * A minimal Kubernetes REST client for the lab's own bookkeeping (the parts a kubelet and the
 * endpoints controller would write): create-or-replace including the status subresource, list,
 * delete. The development API server needs no credentials, so plain fetch is enough.
 */
import { loadKubeConfig } from '@portico/kube';

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
};

export class LabApi {
  constructor(readonly server: string) {}

  static fromKubeconfig(file: string): LabApi {
    const server = loadKubeConfig(file).getCurrentCluster()?.server;
    if (!server) throw new Error(`${file}: no cluster server`);
    return new LabApi(server.replace(/\/$/, ''));
  }

  path(apiVersion: string, kind: string, namespace?: string, name?: string): string {
    const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = namespace ? `/namespaces/${namespace}` : '';
    return `${group}${ns}/${PLURALS[kind] ?? `${kind.toLowerCase()}s`}${name ? `/${name}` : ''}`;
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(this.server + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }

  async get<T>(path: string): Promise<T | undefined> {
    const r = await this.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw new Error(`GET ${path}: HTTP ${r.status}`);
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
      if (r.status >= 300) throw new Error(`${obj.kind} ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      if (obj.status === undefined) return;
      const written = r.json as KubeObject;
      const s = await this.request('PUT', `${one}/status`, { ...written, status: obj.status });
      if (s.status === 409) continue;
      if (s.status >= 300) throw new Error(`${obj.kind} ${name} status: HTTP ${s.status}`);
      return;
    }
    throw new Error(`${obj.kind} ${name}: kept conflicting`);
  }

  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    const r = await this.request('DELETE', this.path(apiVersion, kind, namespace, name));
    if (r.status >= 300 && r.status !== 404) throw new Error(`delete ${kind} ${name}: HTTP ${r.status}`);
  }
}
