// `portico dev apiserver`: argument handling, the printed URL, the kubeconfig it writes, and a
// clean shutdown on SIGTERM.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../src/commands/dev-apiserver.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-devcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('portico dev apiserver', () => {
  it('rejects bad arguments with exit code 2', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--port', 'many'])).toBe(2);
      expect(await run(['--bogus'])).toBe(2);
      expect(await run(['--service-cidr', '10.0.0.0/24,fd00::/112,10.1.0.0/24'])).toBe(2);
      expect(await run(['--node-port-range', '40000-30000'])).toBe(2);
      // Well-formed flags with a value the server refuses: exit 1.
      expect(await run(['--service-cidr', 'not-a-cidr', '--log-level', 'fatal'])).toBe(1);
      expect(error.mock.calls.flat().join('\n')).toContain('usage: portico dev apiserver');
    } finally {
      error.mockRestore();
    }
  });

  it('prints the URL, writes a kubeconfig, serves, and stops on SIGTERM', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const file = join(dir, 'kubeconfig');
    try {
      const exit = run([
        '--port=0',
        '--kubeconfig-out',
        file,
        '--log-level',
        'warn',
        '--service-cidr',
        'fd00:10:97::/112,10.97.0.0/24',
        '--node-port-range',
        '31000-31001',
      ]);
      const deadline = Date.now() + 10_000;
      while (lines.length === 0) {
        if (Date.now() > deadline) throw new Error('no URL printed');
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = lines[0]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(existsSync(file)).toBe(true);
      const kubeconfig = readFileSync(file, 'utf8');
      expect(kubeconfig).toContain(`server: ${url}`);
      expect(kubeconfig).toContain('current-context: portico-dev');
      expect(kubeconfig).toMatch(/token: \S+/);
      const health = await fetch(`${url}/readyz`);
      expect(await health.text()).toBe('ok');
      // The options reach the server: an IPv6-primary cluster with a two-port node port range.
      const created = await fetch(`${url}/api/v1/namespaces/default/services`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          metadata: { name: 'lb' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
        }),
      });
      const svc = (await created.json()) as {
        spec: { clusterIP: string; ipFamilies: string[]; ports: { nodePort: number }[] };
      };
      expect(svc.spec.ipFamilies).toEqual(['IPv6']);
      expect(svc.spec.clusterIP).toMatch(/^fd00:10:97::/);
      expect(svc.spec.ports[0]!.nodePort).toBe(31000);
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      log.mockRestore();
    }
  });
});
