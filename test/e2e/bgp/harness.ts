/**
 * Shared pieces of the BGP end-to-end tests: a two-namespace topology (router + speaker), the
 * speaker driver process, bounded polling, and one scenario run against every router.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPair, destroyPair, requireRoot, requireTools as testbedRequireTools } from '@portico/testbed';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export { run as sh } from '@portico/testbed';

/** Fails loudly when the test cannot run here (not root, package missing): never a silent skip. */
export function requireTools(tools: string[]): void {
  requireRoot('BGP e2e tests');
  testbedRequireTools(
    'BGP e2e tests',
    tools.map((t) => [t, DEBIAN_PACKAGE[t.split('/').pop()!] ?? 'see .ci/apt-packages']),
  );
}

const DEBIAN_PACKAGE: Record<string, string> = {
  bgpd: 'frr',
  bfdd: 'frr',
  zebra: 'frr',
  vtysh: 'frr',
  bird: 'bird2',
  birdc: 'bird2',
  gobgpd: 'gobgpd',
  gobgp: 'gobgpd',
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `intervalMs` until it returns a value, at most `timeoutMs` (bounded). */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Router namespace `${prefix}-r` and speaker namespace `${prefix}-s` joined by a veth pair. */
export class Topology {
  readonly router: string;
  readonly speaker: string;
  readonly dir: string;
  constructor(readonly prefix: string) {
    this.router = `${prefix}-r`;
    this.speaker = `${prefix}-s`;
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  }

  create(routerAddrs: string[], speakerAddrs: string[]): void {
    createPair(
      { netns: this.router, link: `${this.prefix}r0`, addresses: routerAddrs },
      { netns: this.speaker, link: `${this.prefix}s0`, addresses: speakerAddrs },
    );
  }

  destroy(): void {
    destroyPair({ netns: this.router }, { netns: this.speaker });
  }

  cleanup(): void {
    this.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DriverEvent {
  event: string;
  peer?: string;
  state?: string;
  reason?: {
    sent?: { code: number; subcode: number };
    received?: { code: number; subcode: number };
    message: string;
  };
  [k: string]: unknown;
}

/** The speaker, in its namespace, driven over stdin/stdout (see driver.mjs). */
export class Driver {
  readonly events: DriverEvent[] = [];
  private readonly child: ChildProcess;
  constructor(ns: string, config: unknown) {
    this.child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, join(ROOT, 'test/e2e/bgp/driver.mjs'), JSON.stringify(config)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as DriverEvent);
      } catch {
        // pino lines or noise: ignore
      }
    });
  }
  /** The speaker process (ip netns exec replaces itself with node, so this is node's pid). */
  get pid(): number {
    return this.child.pid ?? -1;
  }
  send(cmd: unknown): void {
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }
  waitEvent(what: string, pred: (e: DriverEvent) => boolean, timeoutMs = 20_000): Promise<DriverEvent> {
    return waitFor(what, () => this.events.find(pred), timeoutMs, 100);
  }
  async stop(graceful = false): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send({ op: 'stop', graceful });
    await Promise.race([exited, sleep(3000)]);
    this.child.kill('SIGKILL');
  }
}

/** Builds the compiled library the driver runs. */
export function buildLibrary(): void {
  execFileSync('npx', ['tsc', '-b', 'packages/bgp'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
}
