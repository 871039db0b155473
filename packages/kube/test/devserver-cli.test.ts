// `portico dev apiserver`: argument handling, the printed URL, the kubeconfig it writes, and a
// clean shutdown on SIGTERM.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/src/commands/dev-apiserver.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-devcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('portico dev apiserver', () => {
  it('rejects bad arguments with exit code 2', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--port', 'many'])).toBe(2);
      expect(await run(['--bogus'])).toBe(2);
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
      const exit = run(['--port', '0', '--kubeconfig-out', file, '--log-level', 'warn']);
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
      process.emit('SIGTERM');
      expect(await exit).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      log.mockRestore();
    }
  });
});
