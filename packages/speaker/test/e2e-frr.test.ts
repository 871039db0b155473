/**
 * End to end with a real router: `portico speaker` (the built CLI, as `npm test` builds it first)
 * in the node namespace pspk-e-n1 next to the development API server, FRR bgpd in pspk-e-r1.
 * Checks what the router receives: next hop = the speaker's session address, the pool's
 * communities (alias resolved), aggregation, the link-bandwidth community of a Local Service,
 * and its withdrawal when the last endpoint starts terminating. Needs root and FRR.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPair, destroyPair, Frr, frrBgpdConfig } from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BGPD = '/usr/lib/frr/bgpd';
const CLI = join(import.meta.dirname, '../../cli/bin/portico.js');
const R = 'pspk-e-r1';
const N = 'pspk-e-n1';

if (process.getuid?.() !== 0) throw new Error('e2e-frr.test.ts needs root (network namespaces)');
for (const tool of [BGPD, '/usr/bin/vtysh'])
  if (!existsSync(tool))
    throw new Error(`e2e-frr.test.ts needs ${tool}: apt-get install -y --no-install-recommends frr`);
if (!existsSync(join(import.meta.dirname, '../../cli/dist/main.js')))
  throw new Error('e2e-frr.test.ts runs the built CLI: run `npx tsc -b packages/cli` (npm test does)');

const dir = mkdtempSync(join(tmpdir(), 'pspk-e2e-'));
const children: ChildProcess[] = [];

function removeNamespaces(): void {
  destroyPair({ netns: R }, { netns: N });
}

function inNs(ns: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return child;
}

/** Runs a script with fetch() against the API server inside the node namespace. */
function api(script: string): void {
  const file = join(dir, `api-${Math.random().toString(16).slice(2)}.mjs`);
  writeFileSync(
    file,
    `const base = 'http://127.0.0.1:16600';
const req = async (m, p, b) => { const r = await fetch(base + p, { method: m, headers: { 'content-type': 'application/json' }, body: b && JSON.stringify(b) }); if (!r.ok) throw new Error(m + ' ' + p + ' ' + r.status + ' ' + await r.text()); return r.json(); };
${script}`,
  );
  execFileSync('ip', ['netns', 'exec', N, process.execPath, file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const frr = new Frr(R, dir);

function vtysh(command: string): unknown {
  return frr.vtyshJson(command);
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 100 + 1; i++) {
    try {
      const value = probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Routes = { routes?: Record<string, Array<{ nexthops?: Array<{ ip: string }> }>> };

beforeAll(async () => {
  createPair(
    { netns: R, link: 'pspk-e-r', addresses: ['192.0.2.1/24'] },
    { netns: N, link: 'pspk-e-n', addresses: ['192.0.2.2/24'] },
  );
  execFileSync('chmod', ['777', dir]);
  frr.startBgpd(
    frrBgpdConfig({
      asn: 64500,
      routerId: '192.0.2.1',
      neighbors: [{ address: '192.0.2.2', remoteAs: 64512, connectRetry: 1 }],
      addressFamilies: { ipv4: { activate: ['192.0.2.2'] } },
    }),
  );
  const kubeconfig = join(dir, 'kubeconfig');
  inNs(N, [
    process.execPath,
    CLI,
    'dev',
    'apiserver',
    '--port',
    '16600',
    '--kubeconfig-out',
    kubeconfig,
    '--log-level',
    'error',
  ]);
  await until('API server', () => (existsSync(kubeconfig) ? true : undefined));
  api(`
await req('POST', '/api/v1/namespaces/portico-system/configmaps', { metadata: { name: 'config', namespace: 'portico-system' }, data: { config: ${JSON.stringify(`
peers:
- peer-address: 192.0.2.1
  peer-asn: 64500
  my-asn: 64512
  hold-time: 9s
bgp-communities:
  no-advertise: 65535:65282
address-pools:
- name: bgp
  protocol: bgp
  addresses: [203.0.113.0/28]
  bgp-advertisements:
  - aggregation-length: 32
    communities: [no-advertise, '64512:7']
  - aggregation-length: 28
`)} } });
await req('POST', '/api/v1/nodes', { metadata: { name: '${N}' } });
const n = await req('GET', '/api/v1/nodes/${N}');
n.status = { addresses: [{ type: 'InternalIP', address: '192.0.2.2' }], conditions: [{ type: 'Ready', status: 'True' }] };
await req('PUT', '/api/v1/nodes/${N}/status', n);
for (const [name, ip, local] of [['web', '203.0.113.5', false], ['loc', '203.0.113.6', true]]) {
  await req('POST', '/api/v1/namespaces/default/services', { metadata: { name, namespace: 'default' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: local ? 'Local' : 'Cluster', allocateLoadBalancerNodePorts: false, ports: [{ port: 80, protocol: 'TCP' }], selector: { app: name } } });
  const s = await req('GET', '/api/v1/namespaces/default/services/' + name);
  s.status = { loadBalancer: { ingress: [{ ip }] } };
  await req('PUT', '/api/v1/namespaces/default/services/' + name + '/status', s);
  await req('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', { metadata: { name: name + '-1', namespace: 'default', labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4', endpoints: [1, 2].map((i) => ({ addresses: ['10.0.0.' + i], nodeName: '${N}', targetRef: { kind: 'Pod', name: name + i, uid: name + i }, conditions: { ready: true } })), ports: [{ port: 80, protocol: 'TCP' }] });
}`);
  inNs(N, [
    process.execPath,
    CLI,
    'speaker',
    '--kubeconfig',
    kubeconfig,
    '--node-name',
    N,
    '--bind-address',
    '192.0.2.2',
    '--metrics-port',
    '16601',
  ]);
}, 60_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  removeNamespaces();
  rmSync(dir, { recursive: true, force: true });
});

describe('portico speaker with FRR', () => {
  it('advertises every prefix with the session address as next hop', async () => {
    const routes = await until('three routes at the router', () => {
      const r = (vtysh('show bgp ipv4 unicast json') as Routes).routes ?? {};
      return Object.keys(r).length === 3 ? r : undefined;
    });
    expect(Object.keys(routes).sort()).toEqual(['203.0.113.0/28', '203.0.113.5/32', '203.0.113.6/32']);
    for (const paths of Object.values(routes)) expect(paths[0]!.nexthops?.[0]?.ip).toBe('192.0.2.2');
  });

  it('carries the communities and, for the Local Service, link bandwidth for its two endpoints', () => {
    const detail = JSON.stringify(vtysh('show bgp ipv4 unicast 203.0.113.6/32 json'));
    expect(detail).toContain('64512:7');
    expect(detail).toContain('noAdvertise');
    expect(detail).toContain('LB:64512:250000');
    const cluster = JSON.stringify(vtysh('show bgp ipv4 unicast 203.0.113.5/32 json'));
    expect(cluster).toContain('64512:7');
    expect(cluster).not.toContain('LB:');
  });

  it('withdraws the Local Service when its endpoints start terminating', async () => {
    api(`
const p = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/loc-1';
const s = await req('GET', p);
for (const e of s.endpoints) e.conditions = { ready: false, terminating: true };
await req('PUT', p, s);`);
    const routes = await until('203.0.113.6/32 withdrawn', () => {
      const r = (vtysh('show bgp ipv4 unicast json') as Routes).routes ?? {};
      return r['203.0.113.6/32'] ? undefined : r;
    });
    expect(Object.keys(routes).sort()).toEqual(['203.0.113.0/28', '203.0.113.5/32']);
  });
});
