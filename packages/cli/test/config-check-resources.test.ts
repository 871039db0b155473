/**
 * `portico config check` on MetalLB custom resources, end to end: the built CLI on a directory of
 * files, on one multi-document file and on standard input (the output of `portico config
 * convert`), with exit codes, every problem at once, notices, --namespace and the --json shape.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = join(root, 'node_modules/.bin/node');
const portico = join(root, 'node_modules/.bin/portico');
let dir: string;

function run(args: string[], input?: string) {
  const result = spawnSync(node, [portico, 'config', ...args], { encoding: 'utf8', timeout: 60_000, input });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes files into a fresh directory under the test's temp directory. */
function directory(name: string, files: Record<string, string>): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  return path;
}

const pools = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: web, namespace: metallb-system}
spec:
  addresses: [192.0.2.0/28, 2001:db8::/124]
  serviceAllocation: {priority: 10, namespaces: [web]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec:
  addresses: [198.51.100.10-198.51.100.20]
  autoAssign: false
`;
const advertisements = `apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan-l2, namespace: metallb-system}
spec:
  ipAddressPools: [lan]
  interfaces: [eth0]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: web-bgp, namespace: metallb-system}
spec:
  ipAddressPools: [web]
  communities: [no-advertise]
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: communities, namespace: metallb-system}
spec:
  communities:
  - {name: no-advertise, value: "65535:65282"}
`;
const peers = `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router, namespace: metallb-system}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 203.0.113.1, passwordSecret: {name: bgp-auth}}
---
apiVersion: v1
kind: Secret
metadata: {name: bgp-auth, namespace: metallb-system}
type: kubernetes.io/basic-auth
stringData: {password: sekrit}
`;

beforeAll(() => {
  const build = spawnSync('npx', ['tsc', '-b', 'packages/cli'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (build.status !== 0) {
    throw new Error(`building the CLI failed (npx tsc -b packages/cli):\n${build.stdout}${build.stderr}`);
  }
  dir = mkdtempSync(join(tmpdir(), 'portico-config-check-crs-'));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('portico config check on custom resources', () => {
  it('checks every file of a directory and summarises the configuration', () => {
    const path = directory('valid', {
      '01-pools.yaml': pools,
      '02-advertisements.yml': advertisements,
      '03-peers.yaml': peers,
      'README.md': 'not read',
    });
    const { code, stdout, stderr } = run(['check', path]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'valid: 2 pools, 1 peer',
      'pool "lan" (layer2, no auto-assign): 11 IPv4 addresses',
      '  198.51.100.10-198.51.100.20 (11 addresses)',
      '  announced by L2Advertisement "lan-l2"',
      'pool "web" (bgp, auto-assign, reserved, priority 10): 16 IPv4 addresses + 16 IPv6 addresses',
      '  192.0.2.0/28 (16 addresses)',
      '  2001:db8::/124 (16 addresses)',
      '  announced by BGPAdvertisement "web-bgp"',
      'peer "router" 203.0.113.1 port 179: AS64500 -> AS64501, hold 90s, all nodes',
    ]);
  });

  it('prints one JSON object with --json: the v0.12 shape plus what CRs say, the format and the notices', () => {
    const path = directory('json', { 'all.yaml': `${pools}---\n${advertisements}` });
    const { code, stdout } = run(['check', '--json', path]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as {
      valid: boolean;
      errors: string[];
      format: string;
      notices: string[];
      config: { pools: Record<string, unknown>[] };
    };
    expect(Object.keys(output).sort()).toEqual(['config', 'errors', 'format', 'notices', 'valid']);
    expect(output).toMatchObject({ valid: true, errors: [], format: 'resources', notices: [] });
    expect(output.config.pools[1]).toMatchObject({
      name: 'web',
      protocol: 'bgp',
      addresses: ['192.0.2.0/28', '2001:db8::/124'],
      serviceAllocation: { priority: 10, namespaces: ['web'], namespaceSelectors: [], serviceSelectors: [] },
      bgpAdvertisements: [{ name: 'web-bgp', communities: ['65535:65282'], peers: [] }],
    });
  });

  it('reports every problem of every file at once and exits 1', () => {
    const path = directory('invalid', {
      'a.yaml': pools.replace('192.0.2.0/28', '198.51.100.0/24'),
      'b.yaml': advertisements.replace('[no-advertise]', '[no-advertise, blackhole]'),
      'c.yaml': peers.replace('peerASN: 64501, ', ''),
      'd.yaml': 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: x\n',
    });
    const { code, stdout, stderr } = run(['check', path]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toContain(
      'IPAddressPool "web": spec.addresses[0]: CIDR "198.51.100.0/24" in pool "web" overlaps with already defined CIDR "198.51.100.20/32" (IPAddressPool "lan")',
    );
    expect(lines).toContain(
      'BGPAdvertisement "web-bgp": spec.communities[1]: unknown community "blackhole": no Community resource defines this name, and it is not asn:value or large:global:local1:local2',
    );
    expect(lines).toContain('BGPPeer "router": spec.peerASN: missing peer ASN and dynamicASN');
    expect(lines.some((l) => l.startsWith(`${join(path, 'd.yaml')}: document 1: `))).toBe(true);
  });

  it('with --namespace, refuses resources of another namespace', () => {
    const path = directory('namespace', { 'pools.yaml': pools, 'ads.yaml': advertisements });
    const { code, stderr } = run(['check', '--namespace', 'portico-system', path]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'IPAddressPool "web": metadata.namespace: "metallb-system": Portico reads its configuration from namespace "portico-system"',
    );
    expect(run(['check', '--namespace', 'metallb-system', path]).code).toBe(0);
  });

  it('says which source wins when a ConfigMap comes with the resources, and what is not announced', () => {
    const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata: {config: ""}\n';
    const path = join(dir, 'mixed.yaml');
    writeFileSync(path, `${pools}---\n${configMap}`);
    const { code, stderr } = run(['check', path]);
    expect(code).toBe(0);
    expect(stderr).toContain(
      'notice: a ConfigMap is given too: where Portico finds its ConfigMap "config", that is in force and the metallb.io resources are not read',
    );
    expect(stderr).toContain(
      'notice: IPAddressPool "web": no L2Advertisement or BGPAdvertisement selects it: its addresses are given out but not announced',
    );
  });

  it('accepts what `portico config convert` makes of a ConfigMap, on standard input', () => {
    const configMap = `address-pools:
- {name: lan, protocol: layer2, addresses: [10.0.0.0/24]}
- {name: web, protocol: bgp, addresses: [203.0.113.0/24], bgp-advertisements: [{aggregation-length: 24, communities: [tag]}]}
bgp-communities: {tag: '64500:1'}
peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 192.0.2.1}
`;
    const source = join(dir, 'convert-me.yaml');
    writeFileSync(source, configMap);
    const converted = run(['convert', source]);
    expect(converted.code, converted.stderr).toBe(0);
    const { code, stdout } = run(['check', '-'], converted.stdout);
    expect(code).toBe(0);
    expect(stdout).toContain('valid: 2 pools, 1 peer');
    expect(stdout).toContain('pool "web" (bgp, auto-assign): 256 IPv4 addresses');
  });

  it('exits 2 on a directory without configuration files', () => {
    const path = directory('empty', { 'notes.txt': 'x' });
    const { code, stderr } = run(['check', path]);
    expect(code).toBe(2);
    expect(stderr).toContain('holds no .yaml, .yml or .json file');
  });
});
