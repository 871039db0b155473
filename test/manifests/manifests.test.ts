/**
 * The kustomize manifests, rendered by the real kustomize inside kubectl, validated against the
 * Kubernetes OpenAPI schemas (kubernetes-models), plus the rules we promise: least privilege,
 * non-root, probes on the health endpoints.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

// A loose view of the fields the assertions read.
interface PodSpec {
  securityContext: { runAsNonRoot: boolean };
  containers: Array<{
    args: string[];
    livenessProbe: { httpGet: { path: string } };
    readinessProbe: { httpGet: { path: string } };
    securityContext: { capabilities: { drop: string[] } };
  }>;
}

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
}

/** Kinds of CRDs kubernetes-models has no schema for: rbac.test.ts applies them to a real kube-apiserver with the CRDs installed. */
const validatedByApiServer = new Set(['gateway.networking.k8s.io/v1 GatewayClass']);

async function validate(obj: Obj): Promise<void> {
  if (validatedByApiServer.has(`${obj.apiVersion} ${obj.kind}`)) return;
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  const models = (await import(module)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = models[obj.kind];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

// Every directory under manifests/ (at any depth, e.g. manifests/overlays/bgp) with a kustomization.yaml.
const subdirs = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [`${dir}/${e.name}`, ...subdirs(`${dir}/${e.name}`)]);
const kustomizations = ['manifests/base', ...subdirs('manifests').filter((d) => d !== 'manifests/base')].filter(
  (d) => existsSync(`${d}/kustomization.yaml`),
);

describe.each(kustomizations)('%s', (dir) => {
  const objects = render(dir);

  it('renders objects that are valid against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const obj of objects) await expect(validate(obj), `${obj.kind} ${obj.metadata.name}`).resolves.toBeUndefined();
  });

  it('puts every namespaced object in portico-system', () => {
    const clusterScoped = new Set([
      'Namespace',
      'ClusterRole',
      'ClusterRoleBinding',
      'IngressClass',
      'GatewayClass',
      'CustomResourceDefinition',
    ]);
    for (const obj of objects.filter((o) => !clusterScoped.has(o.kind))) expect(obj.metadata.namespace, obj.kind).toBe('portico-system');
  });

  it('grants no wildcard permissions', () => {
    for (const role of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of (role.rules as Array<Record<string, string[]>>) ?? []) {
        for (const field of ['apiGroups', 'resources', 'verbs']) expect(rule[field], `${role.metadata.name}.${field}`).not.toContain('*');
      }
    }
  });
});

describe('manifests/base', () => {
  const objects = render('manifests/base');
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('runs the controller as two non-root replicas with health probes', () => {
    const deployment = find('Deployment', 'controller') as { spec: { replicas: number; template: { spec: PodSpec } } };
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [container] = pod.containers;
    expect(container.args[0]).toBe('controller');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
  });

  it('lets the controller write Service status but not Service specs', () => {
    const role = find('ClusterRole', 'portico:controller') as { rules: Array<{ resources: string[]; verbs: string[] }> };
    const verbsOn = (resource: string) => role.rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs);
    expect(verbsOn('services').sort()).toEqual(['get', 'list', 'watch']);
    expect(verbsOn('services/status')).toEqual(['update']);
  });

  it('ships a ConfigMap portico-system/config that portico config check accepts', async () => {
    const cm = find('ConfigMap', 'config') as { data: { config: string } };
    const { parseConfig } = await import('@portico/config');
    expect(parseConfig(cm.data.config)).toMatchObject({ ok: true });
  });
});

describe('manifests/ingress and manifests/gateway: the Gateway API', () => {
  const ingress = render('manifests/ingress');
  const gateway = render('manifests/gateway');

  it('runs the ingress with --gateway-services and lets its pods bind listener ports below 1024 without root', () => {
    const deployment = ingress.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ingress') as {
      spec: { template: { spec: PodSpec & { securityContext: { sysctls?: Array<{ name: string; value: string }> } } } };
    };
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0]!.args).toContain('--gateway-services');
    expect(pod.containers[0]!.args).toContain('--publish-service=portico-system/ingress');
    expect(pod.securityContext.sysctls).toContainEqual({ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it('ships the GatewayClass portico for controller portico.dev/gateway-controller', () => {
    expect(gateway.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`)).toEqual([
      'gateway.networking.k8s.io/v1 GatewayClass portico',
    ]);
    const spec = gateway[0]!.spec as { controllerName: string; description: string };
    expect(spec.controllerName).toBe('portico.dev/gateway-controller');
    // The CRD's limit (maxLength 64); the real check is kube-apiserver's in rbac.test.ts.
    expect(spec.description.length).toBeLessThanOrEqual(64);
  });
});
