/**
 * `portico l2 announce` as a user runs it: the built CLI inside namespace pl2-n1, a client in
 * pl2-c resolving the announced addresses, SIGTERM for a clean stop. Needs root, iproute2, ping.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript helper shared with the benchmark
import * as bed from '../bench/segment.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const portico = `${root}packages/cli/bin/portico.js`;

/**
 * Builds the CLI. The build covers every package the CLI references; when one of them does not
 * compile right now, the test can still run as long as the files it needs were emitted from the
 * current sources (tsc -b emits despite type errors elsewhere).
 */
function buildCli(): void {
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/cli'], {
      cwd: root,
      encoding: 'utf8',
    });
  } catch (err) {
    const needed = [
      ['packages/cli/src/main.ts', 'packages/cli/dist/main.js'],
      ['packages/cli/src/commands/l2-announce.ts', 'packages/cli/dist/commands/l2-announce.js'],
      ['packages/layer2/src/announcer.ts', 'packages/layer2/dist/announcer.js'],
    ];
    const stale = needed.filter(
      ([src, out]) => !existsSync(root + out) || statSync(root + out).mtimeMs < statSync(root + src!).mtimeMs,
    );
    if (stale.length > 0) {
      throw new Error(`cannot build the CLI: ${(err as { stdout?: string }).stdout ?? err}`, { cause: err });
    }
  }
}

function runCli(args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(process.execPath, [portico, 'l2', 'announce', ...args], { stdio: 'pipe', encoding: 'utf8' });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number; stderr: string };
    return { code: e.status, stderr: e.stderr };
  }
}

beforeAll(() => {
  bed.requireTools(['ip', 'ping']);
  buildCli();
  bed.setup();
}, 180_000);

afterAll(() => bed.teardown());

describe('portico l2 announce', () => {
  it.each([
    [[], /at least one --ip/],
    [['--ip', '203.0.113.300'], /not an IP address/],
    [['--ip', '203.0.113.60', '--refresh', '-1'], /--refresh/],
    [['--ip', '203.0.113.60', '--bogus'], /Unknown option/],
  ])('exits 2 on usage errors: %j', (args, message) => {
    const { code, stderr } = runCli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('exits 1 when the interface does not exist', () => {
    expect(runCli(['--interface', 'pl2-none', '--ip', '203.0.113.60']).code).toBe(1);
  });

  it('announces until SIGTERM: the client resolves both addresses to the node, then a clean exit', async () => {
    const args = ['--interface', 'pl2-n1-eth1', '--ip', bed.VIP4, bed.VIP6, '--refresh', '2'];
    const child = spawn(
      'ip',
      ['netns', 'exec', 'pl2-n1', process.execPath, portico, 'l2', 'announce', ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const announced = await bed.waitFor(() => output.includes('all addresses announced'), {
        timeoutMs: 10_000,
      });
      expect(announced, output).toBe(true);
      const mac = bed.macOf('pl2-n1');
      for (const ip of [bed.VIP4, bed.VIP6]) {
        bed.flushClientNeighbour(ip);
        bed.clientResolve(ip);
        const entry = await bed.waitFor(() => (bed.clientNeighbour(ip)?.lladdr === mac ? true : undefined), {
          timeoutMs: 3000,
        });
        expect(entry, `${ip} resolves to ${mac}`).toBe(true);
      }
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    }
    const logs = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs.filter((l) => l.msg === 'announcing').map((l) => l.ip)).toEqual([bed.VIP4, bed.VIP6]);
    const stopped = logs.find((l) => l.msg === 'stopped');
    expect(stopped?.signal).toBe('SIGTERM');
    expect(stopped?.portico_layer2_responses_sent_total).toBeGreaterThanOrEqual(2);
  });
});
