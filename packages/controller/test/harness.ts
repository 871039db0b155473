/**
 * Test harness: a real development API server on loopback, a client for it, and controllers run
 * in-process (or as real `portico controller` processes for leader election).
 */
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { Controller } from '@portico/controller';
import { applyObject } from '@portico/kube';
import { startDevApiServer } from '@portico/dev-apiserver';
import { pino } from 'pino';
import { Registry } from 'prom-client';

export type DevServer = Awaited<ReturnType<typeof startDevApiServer>>;

export function kubeConfigFor(server: DevServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return kc;
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

export class Cluster {
  readonly api: CoreV1Api;
  constructor(readonly kc: KubeConfig) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  async setConfig(config: string): Promise<void> {
    await applyObject(this.kc, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'portico-system' },
      data: { config },
    });
  }

  async createService(
    name: string,
    spec: Partial<V1Service['spec']> = {},
    annotations: Record<string, string> = {},
    namespace = 'default',
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

  async ips(name: string, namespace = 'default'): Promise<string[]> {
    const svc = await this.api.readNamespacedService({ name, namespace });
    return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  }

  async waitForIPs(name: string, count = 1, namespace = 'default', timeoutMs?: number): Promise<string[]> {
    return waitFor(
      `${count} IP(s) on ${namespace}/${name}`,
      async () => {
        const ips = await this.ips(name, namespace);
        return ips.length === count ? ips : undefined;
      },
      timeoutMs,
    );
  }

  async events(kind: string, name: string, namespace = 'default') {
    const list = await this.api.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name);
  }

  async waitForEvent(kind: string, name: string, reason: string, namespace = 'default') {
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

export async function runController(kc: KubeConfig): Promise<RunningController> {
  const registry = new Registry();
  const controller = new Controller({
    kubeConfig: kc,
    namespace: 'portico-system',
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
