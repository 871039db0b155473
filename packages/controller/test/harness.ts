/**
 * Test harness: an API server on loopback (the development one or a real kube-apiserver, see
 * @portico/dev-kube-apiserver's startTestApiServer), a client for it, and controllers run
 * in-process (or as real `portico controller` processes for leader election).
 */
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { Controller } from '@portico/controller';
import { ApiClient, applyObject, kubeconfigCredentials } from '@portico/kube';
import { pino } from 'pino';
import { Registry } from 'prom-client';

/** Two clients of one server: client-node's for the test's own reads and writes, Portico's for the controller. */
export interface TestClients {
  kc: KubeConfig;
  kube: ApiClient;
}

export function kubeConfigFor(server: { kubeconfig(): string }): TestClients {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return { kc, kube: new ApiClient(kubeconfigCredentials(server.kubeconfig())) };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The objects of one test. NAMESPACE holds its Services and, when the controller is run with it,
 * its ConfigMap too, so tests can share one API server (a kube-apiserver costs seconds to start
 * and, without its controllers, cannot delete a namespace: each test creates a fresh one).
 */
export class Cluster {
  readonly api: CoreV1Api;
  readonly kc: KubeConfig;
  readonly kube: ApiClient;
  constructor(
    clients: TestClients,
    readonly namespace = 'default',
    /** Where the controller reads its ConfigMap. */
    readonly configNamespace = 'portico-system',
  ) {
    this.kc = clients.kc;
    this.kube = clients.kube;
    this.api = this.kc.makeApiClient(CoreV1Api);
  }

  /** Creates the test's namespace (unless it is one every API server starts with). */
  async createNamespace(): Promise<void> {
    await applyObject(this.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } });
  }

  /** Deletes every Service of the namespace, so no later controller on this server sees them. */
  async deleteServices(): Promise<void> {
    const list = await this.api.listNamespacedService({ namespace: this.namespace });
    for (const svc of list.items) {
      if (svc.metadata?.name === 'kubernetes') continue;
      await this.api.deleteNamespacedService({ name: svc.metadata!.name!, namespace: this.namespace });
    }
  }

  async setConfig(config: string): Promise<void> {
    await applyObject(this.kube, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: this.configNamespace },
      data: { config },
    });
  }

  async createService(
    name: string,
    spec: Partial<V1Service['spec']> = {},
    annotations: Record<string, string> = {},
    namespace = this.namespace,
  ) {
    return this.api.createNamespacedService({
      namespace,
      body: {
        metadata: { name, namespace, annotations },
        spec: {
          type: 'LoadBalancer',
          ports: [{ port: 80, protocol: 'TCP' }],
          selector: { app: name },
          ...spec,
        },
      },
    });
  }

  async ips(name: string, namespace = this.namespace): Promise<string[]> {
    const svc = await this.api.readNamespacedService({ name, namespace });
    return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  }

  async waitForIPs(
    name: string,
    count = 1,
    namespace = this.namespace,
    timeoutMs?: number,
  ): Promise<string[]> {
    return waitFor(
      `${count} IP(s) on ${namespace}/${name}`,
      async () => {
        const ips = await this.ips(name, namespace);
        return ips.length === count ? ips : undefined;
      },
      timeoutMs,
    );
  }

  async events(kind: string, name: string, namespace = this.namespace) {
    const list = await this.api.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name);
  }

  async waitForEvent(kind: string, name: string, reason: string, namespace = this.namespace) {
    return waitFor(`event ${reason} on ${kind} ${namespace}/${name}`, async () =>
      (await this.events(kind, name, namespace)).find((e) => e.reason === reason),
    );
  }
}

export interface RunningController {
  controller: Controller;
  registry: Registry;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function runController(
  api: ApiClient,
  configNamespace = 'portico-system',
): Promise<RunningController> {
  const registry = new Registry();
  const controller = new Controller({
    api,
    namespace: configNamespace,
    configMapName: 'config',
    logger: pino({ level: 'silent' }),
    registry,
  });
  await controller.start();
  return {
    controller,
    registry,
    async metric(name, labels = {}) {
      const json = await registry.getSingleMetric(name)?.get();
      const match = json?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
      return match?.value;
    },
    stop: () => controller.stop(),
  };
}
