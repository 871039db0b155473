/**
 * `portico config check` end to end: builds the CLI, runs the real command on files in a temp
 * directory, and checks exit codes (0 valid, 1 invalid, 2 usage) and the --json shape.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = join(root, 'node_modules/.bin/node');
const portico = join(root, 'node_modules/.bin/portico');
let dir: string;

function run(...args: string[]) {
  const result = spawnSync(node, [portico, 'config', 'check', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const validConfig = `address-pools:
- name: default
  protocol: layer2
  addresses: [192.0.2.0/24, 198.51.100.10-198.51.100.20]
peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 203.0.113.1}
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
  dir = mkdtempSync(join(tmpdir(), 'portico-config-check-'));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('portico config check', () => {
  it('exits 0 on a valid bare config and summarises it', () => {
    const { code, stdout } = run(file('valid.yaml', validConfig));
    expect(code).toBe(0);
    expect(stdout).toContain('valid: 1 pool, 1 peer');
    expect(stdout).toContain('pool "default" (layer2, auto-assign): 267 IPv4 addresses');
    expect(stdout).toContain('198.51.100.10-198.51.100.20 (11 addresses)');
    expect(stdout).toContain('peer 203.0.113.1 port 179');
  });

  it('exits 0 on a ConfigMap manifest and prints one JSON object with --json', () => {
    const manifest = `apiVersion: v1
kind: ConfigMap
metadata: {namespace: portico-system, name: config}
data:
  config: |
${validConfig.replace(/^/gm, '    ')}`;
    const { code, stdout } = run('--json', file('configmap.yaml', manifest));
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual(['config', 'errors', 'valid']);
    expect(output.valid).toBe(true);
    expect(output.errors).toEqual([]);
    expect(output.config).toMatchObject({
      pools: [
        {
          name: 'default',
          protocol: 'layer2',
          addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20'],
          autoAssign: true,
          avoidBuggyIPs: false,
          bgpAdvertisements: [],
        },
      ],
      peers: [{ myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1', peerPort: 179, holdTime: 90 }],
    });
  });

  it('exits 1 on an invalid config and prints each error on its own line', () => {
    const bad = file('bad.yaml', 'address-pools:\n- name: x\n  addresses: [10.0.0.1]\n');
    const { code, stderr } = run(bad);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'address-pools[0] "x": addresses[0]: invalid CIDR "10.0.0.1": missing "/prefix-length"',
      'address-pools[0] "x": protocol: address pool is missing the protocol field',
    ]);
  });

  it('exits 1 with --json, valid false, the errors and a null config', () => {
    const { code, stdout } = run(file('bad2.yaml', 'peers: [{my-asn: 1}]\n'), '--json');
    expect(code).toBe(1);
    const output = JSON.parse(stdout) as { valid: boolean; errors: string[]; config: unknown };
    expect(output.valid).toBe(false);
    expect(output.config).toBeNull();
    expect(output.errors).toEqual([
      'peers[0]: peer-asn: missing peer ASN',
      'peers[0]: peer-address: invalid peer IP ""',
    ]);
  });

  it.each([
    ['no FILE', [], 'missing FILE'],
    ['an unknown flag', ['--yaml', 'x.yaml'], 'unknown option --yaml'],
    ['two files', ['a.yaml', 'b.yaml'], 'only one FILE'],
  ])('exits 2 on %s', (_name, args, message) => {
    const { code, stderr, stdout } = run(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
  });

  it('exits 2 on an unreadable file', () => {
    const { code, stderr } = run(join(dir, 'does-not-exist.yaml'), '--json');
    expect(code).toBe(2);
    expect(stderr).toContain('cannot read');
  });
});
