/**
 * Shared pieces of the BGP end-to-end tests: a two-namespace topology (router + speaker), the
 * speaker driver process, bounded polling, and one scenario run against every router.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (err) {
    if (opts.allowFail) return (err as { stdout?: string }).stdout ?? '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** Fails loudly when the test cannot run here (not root, package missing): never a silent skip. */
export function requireTools(tools: string[]): void {
  if (process.getuid?.() !== 0) throw new Error('BGP e2e tests need root (network namespaces)');
  for (const t of tools) {
    if (!existsSync(t)) throw new Error(`${t} not found: install the Debian package (see .ci/apt-packages)`);
  }
}

/** Runs the shell test `condition` every 100 ms, at most 50 times: throws if it never holds (a daemon that did not start). */
export function waitForShell(condition: string): void {
  sh('sh', ['-c', `for i in $(seq 50); do ${condition} && exit 0; sleep 0.1; done; exit 1`]);
}

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
    this.destroy();
    sh('ip', ['netns', 'add', this.router]);
    sh('ip', ['netns', 'add', this.speaker]);
    const r = `${this.prefix}r0`;
    const s = `${this.prefix}s0`;
    sh('ip', [
      'link',
      'add',
      r,
      'netns',
      this.router,
      'type',
      'veth',
      'peer',
      'name',
      s,
      'netns',
      this.speaker,
    ]);
    for (const [ns, dev, addrs] of [
      [this.router, r, routerAddrs],
      [this.speaker, s, speakerAddrs],
    ] as const) {
      for (const a of addrs) {
        sh('ip', ['-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
      }
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  }

  destroy(): void {
    for (const ns of [this.router, this.speaker]) {
      sh('ip', ['netns', 'pids', ns], { allowFail: true })
        .split('\n')
        .filter(Boolean)
        .forEach((pid) => sh('kill', ['-9', pid], { allowFail: true }));
      sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
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
