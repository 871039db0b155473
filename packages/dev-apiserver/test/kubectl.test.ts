// The real kubectl (v1.32, /usr/bin/kubectl) against the development API server, unchanged:
// create, apply (client-side twice, and server-side), get -o json, get -w, patch (merge,
// strategic, json, --subresource=status), replace, delete, label and field selectors.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevApiServer, type DevApiServer } from '@portico/dev-apiserver';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const KUBECTL = '/usr/bin/kubectl';
let server: DevApiServer;
let dir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(KUBECTL)) {
    throw new Error(
      `${KUBECTL} is missing: these tests need the real kubectl (v1.32) installed at that path`,
    );
  }
  server = await startDevApiServer();
  dir = mkdtempSync(join(tmpdir(), 'portico-kubectl-'));
  writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
  // HOME points into the temp dir so kubectl's discovery cache never mixes servers.
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') };
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, args, { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const result = await kubectl(...args);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

async function getJson(...args: string[]): Promise<Json> {
  return JSON.parse(await ok('get', ...args, '-o', 'json')) as Json;
}

function manifest(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('kubectl', () => {
  it('discovers the resources with their short names', async () => {
    const out = await ok('api-resources', '--no-headers');
    for (const line of [
      /^services\s+svc\s+v1\s+true\s+Service$/m,
      /^ingresses\s+ing\s+networking\.k8s\.io\/v1\s+true\s+Ingress$/m,
    ]) {
      expect(out).toMatch(line);
    }
    expect(await ok('get', 'ns', '-o', 'name')).toContain('namespace/portico-system');
  });

  it('create -f, get -o json, and AlreadyExists', async () => {
    const file = manifest(
      'cm.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n  labels: {app: demo}\ndata:\n  a: "1"\n',
    );
    expect(await ok('create', '-f', file)).toContain('configmap/created created');
    const cm = await getJson('configmap', 'created');
    expect(cm.data).toEqual({ a: '1' });
    expect(cm.metadata.uid).toBeTruthy();
    const again = await kubectl('create', '-f', file);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('AlreadyExists');
  });

  it('create generators (sent as protobuf): namespace, configmap, secret, service, ingress', async () => {
    expect(await ok('create', 'namespace', 'gen')).toContain('namespace/gen created');
    await ok('create', 'configmap', 'gcm', '-n', 'gen', '--from-literal=a=b');
    await ok('create', 'secret', 'generic', 'gsec', '-n', 'gen', '--from-literal=p=secret');
    await ok('create', 'service', 'loadbalancer', 'glb', '-n', 'gen', '--tcp=80:8080');
    await ok('create', 'service', 'nodeport', 'gnp', '-n', 'gen', '--tcp=5678:8080', '--node-port=30080');
    expect((await getJson('configmap', 'gcm', '-n', 'gen')).data).toEqual({ a: 'b' });
    const secret = await getJson('secret', 'gsec', '-n', 'gen');
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from(secret.data.p, 'base64').toString()).toBe('secret');
    const lb = await getJson('service', 'glb', '-n', 'gen');
    expect(lb.metadata.labels).toEqual({ app: 'glb' });
    expect(lb.spec).toMatchObject({
      type: 'LoadBalancer',
      selector: { app: 'glb' },
      ports: [{ name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' }],
    });
    expect(lb.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect((await getJson('service', 'gnp', '-n', 'gen')).spec.ports[0].nodePort).toBe(30080);
    await ok(
      'create',
      'ingress',
      'ging',
      '-n',
      'gen',
      '--class=portico',
      '--rule=app.example/api*=glb:80,tls=cert',
    );
    const ing = await getJson('ingress', 'ging', '-n', 'gen');
    expect(ing.spec).toEqual({
      ingressClassName: 'portico',
      rules: [
        {
          host: 'app.example',
          http: {
            paths: [
              {
                path: '/api',
                pathType: 'Prefix',
                backend: { service: { name: 'glb', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
      tls: [{ hosts: ['app.example'], secretName: 'cert' }],
    });
  });

  it('apply creates, then updates with a three-way strategic merge', async () => {
    const v1 = [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: web',
      '  labels: {app: web, stage: one}',
      'spec:',
      '  type: LoadBalancer',
      '  ipFamilyPolicy: PreferDualStack',
      '  selector: {app: web}',
      '  ports:',
      '    - {name: http, port: 80}',
      '    - {name: https, port: 443}',
      '',
    ].join('\n');
    const file = manifest('svc.yaml', v1);
    expect(await ok('apply', '-f', file)).toContain('service/web created');
    const created = await getJson('service', 'web');
    expect(created.spec.clusterIPs).toHaveLength(2);
    expect(created.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      '"stage":"one"',
    );

    const v2 = v1
      .replace('  labels: {app: web, stage: one}', '  labels: {app: web}')
      .replace('port: 443', 'port: 8443');
    manifest('svc.yaml', v2);
    expect(await ok('apply', '-f', file)).toContain('service/web configured');
    const updated = await getJson('service', 'web');
    expect(updated.metadata.labels).toEqual({ app: 'web' });
    expect(updated.spec.ports.map((p: Json) => p.port)).toEqual([80, 8443]);
    expect(updated.spec.clusterIPs).toEqual(created.spec.clusterIPs);
    expect(updated.spec.ports[0].nodePort).toBe(created.spec.ports[0].nodePort);
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    expect(await ok('apply', '-f', file)).toContain('service/web unchanged');
  });

  it('apply --server-side creates and updates', async () => {
    const file = manifest(
      'ssa.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n',
    );
    expect(await ok('apply', '--server-side', '-f', file)).toContain('configmap/ssa serverside-applied');
    manifest('ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  b: "2"\n');
    await ok('apply', '--server-side', '-f', file);
    expect((await getJson('configmap', 'ssa')).data).toEqual({ b: '2' });
  });

  it('patch: merge, strategic, json, and --subresource=status', async () => {
    await ok('patch', 'service', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}');
    await ok('patch', 'service', 'web', '-p', '{"spec":{"ports":[{"name":"extra","port":9000}]}}');
    await ok(
      'patch',
      'service',
      'web',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/annotations/j","value":"son"}]',
    );
    await ok('label', 'service', 'web', 'labelled=yes');
    await ok('annotate', 'service', 'web', 'note=hello');
    const svc = await getJson('service', 'web');
    expect(svc.metadata.labels.patched).toBe('merge');
    // The new port first: the order the real server's strategic merge gives.
    expect(svc.spec.ports.map((p: Json) => p.port)).toEqual([9000, 80, 8443]);
    expect(svc.metadata.annotations.j).toBe('son');
    expect(svc.metadata.labels.labelled).toBe('yes');
    expect(svc.metadata.annotations.note).toBe('hello');

    // status through the main resource is ignored; through /status it sticks and spec does not change.
    await ok(
      'patch',
      'service',
      'web',
      '--type=merge',
      '-p',
      '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}',
    );
    expect((await getJson('service', 'web')).status).toEqual({ loadBalancer: {} });
    await ok(
      'patch',
      'service',
      'web',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"app":"other"}},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}',
    );
    const withStatus = await getJson('service', 'web');
    expect(withStatus.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.7', ipMode: 'VIP' }]);
    expect(withStatus.spec.selector).toEqual({ app: 'web' });
    const table = await ok('get', 'service', 'web');
    expect(table).toMatch(/^web\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+192\.0\.2\.7\s+/m);
  });

  it('replace, and a stale replace conflicts', async () => {
    const cm = await getJson('configmap', 'created');
    cm.data = { a: 'replaced' };
    const file = manifest('replace.json', JSON.stringify(cm));
    expect(await ok('replace', '-f', file)).toContain('configmap/created replaced');
    expect((await getJson('configmap', 'created')).data).toEqual({ a: 'replaced' });
    const stale = await kubectl('replace', '-f', file);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('the object has been modified');
  });

  it('label and field selectors', async () => {
    await ok(
      'create',
      '-f',
      manifest('ns-sel.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sel\n'),
    );
    for (const [name, labels] of [
      ['one', 'tier: front'],
      ['two', 'tier: back'],
      ['three', 'other: x'],
    ]) {
      const file = manifest(
        `${name}.yaml`,
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: sel\n  labels: {${labels}}\n`,
      );
      await ok('create', '-f', file);
    }
    const names = async (...args: string[]): Promise<string> =>
      (await ok('get', 'cm', '-n', 'sel', '-o', 'name', ...args)).trim().split('\n').sort().join(' ');
    expect(await names('-l', 'tier=front')).toBe('configmap/one');
    expect(await names('-l', 'tier in (front,back)')).toBe('configmap/one configmap/two');
    expect(await names('-l', '!tier')).toBe('configmap/three');
    expect(await names('-l', 'tier,tier!=front')).toBe('configmap/two');
    expect(await names('--field-selector', 'metadata.name=three')).toBe('configmap/three');
    expect(await names('--field-selector', 'metadata.name!=three')).toBe('configmap/one configmap/two');
  });

  it('get -w prints changes as they happen', async () => {
    await ok(
      'create',
      '-f',
      manifest('ns-watched.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: watched\n'),
    );
    const child = spawn(
      KUBECTL,
      ['get', 'configmaps', '-n', 'watched', '-w', '-o', 'json', '--output-watch-events'],
      { env },
    );
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const waitFor = async (text: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!output.includes(text)) {
        if (Date.now() > deadline) throw new Error(`kubectl get -w never printed ${text}; got: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      // The watch starts after kubectl's initial list; create until the first event shows up.
      const file = manifest(
        'w.yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: live\n  namespace: watched\ndata:\n  k: v1\n',
      );
      await new Promise((r) => setTimeout(r, 1000));
      await ok('create', '-f', file);
      await waitFor('"ADDED"');
      await ok('patch', 'configmap', 'live', '-n', 'watched', '--type=merge', '-p', '{"data":{"k":"v2"}}');
      await waitFor('"MODIFIED"');
      await ok('delete', 'configmap', 'live', '-n', 'watched');
      await waitFor('"DELETED"');
      // One compact JSON watch event per line.
      const types = output
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as Json).type);
      expect(types).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      expect(output).toContain('"k":"v2"');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('delete removes objects and reports NotFound after', async () => {
    expect(await ok('delete', 'service', 'web')).toContain('service "web" deleted');
    const gone = await kubectl('get', 'service', 'web');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('services "web" not found');
    expect(await ok('delete', 'configmap', '-n', 'sel', '-l', 'tier')).toContain('deleted');
    expect((await ok('get', 'cm', '-n', 'sel', '-o', 'name')).trim()).toBe('configmap/three');
  });
});
