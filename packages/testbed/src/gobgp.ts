/**
 * GoBGP (Debian's gobgpd) as a router or a stand-in speaker: the one writer of its TOML
 * configuration, the daemon with its gRPC API on 127.0.0.1:50051 inside its namespace, and the
 * `gobgp` client there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitUntilSync } from './run.js';

export const GOBGP_API = '127.0.0.1:50051';

export function gobgpInstalled(): boolean {
  return existsSync('/usr/bin/gobgpd') && existsSync('/usr/bin/gobgp');
}

export interface GobgpNeighbor {
  address: string;
  peerAs: number;
  /** TCP-MD5 password. */
  password?: string;
  /** Configured but shut down until `gobgp neighbor ADDRESS enable`. */
  adminDown?: boolean;
  /** Seconds between connection attempts, and before reconnecting after a reset. */
  connectRetry?: number;
  /** Wait for the peer to connect; with the local address to listen on. */
  passive?: { localAddress: string };
  /** Keep a restarting peer's routes (RFC 4724 helper mode) in each family. */
  gracefulRestartHelper?: boolean;
  /** Families to negotiate (GoBGP's default when absent). */
  families?: Array<'ipv4' | 'ipv6'>;
}

export interface GobgpConfig {
  asn: number;
  routerId: string;
  neighbors: GobgpNeighbor[];
}

/** gobgpd.toml for `config`. */
export function gobgpConfig(config: GobgpConfig): string {
  const out = ['[global.config]', `  as = ${config.asn}`, `  router-id = "${config.routerId}"`];
  for (const n of config.neighbors) {
    out.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`);
    out.push(`    peer-as = ${n.peerAs}`);
    if (n.password !== undefined) out.push(`    auth-password = "${n.password}"`);
    if (n.adminDown) out.push('    admin-down = true');
    if (n.connectRetry !== undefined)
      out.push(
        '  [neighbors.timers.config]',
        `    connect-retry = ${n.connectRetry}`,
        `    idle-hold-time-after-reset = ${n.connectRetry}`,
      );
    if (n.passive)
      out.push(
        '  [neighbors.transport.config]',
        '    passive-mode = true',
        `    local-address = "${n.passive.localAddress}"`,
      );
    if (n.gracefulRestartHelper)
      out.push('  [neighbors.graceful-restart.config]', '    enabled = true', '    helper-only = true');
    for (const family of n.families ?? []) {
      out.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]');
      out.push(`      afi-safi-name = "${family}-unicast"`);
      if (n.gracefulRestartHelper)
        out.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
    }
  }
  return `${out.join('\n')}\n`;
}

export class Gobgp {
  private child: ChildProcess | undefined;

  /** gobgpd in namespace `netns` (the current one when undefined), its files in `dir`. */
  constructor(
    readonly netns: string | undefined,
    readonly dir: string,
  ) {}

  static inTempDir(netns: string | undefined, prefix: string): Gobgp {
    return new Gobgp(netns, mkdtempSync(join(tmpdir(), `${prefix}-`)));
  }

  private command(cmd: string, args: string[]): [string, string[]] {
    return this.netns ? ['ip', ['netns', 'exec', this.netns, cmd, ...args]] : [cmd, args];
  }

  /** The daemon's pid (`ip netns exec` replaces itself with gobgpd). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get process(): ChildProcess | undefined {
    return this.child;
  }

  /**
   * Starts gobgpd with `config` (TOML text) and, unless `wait` is false, returns once its API
   * answers (at most 10 s).
   */
  start(config: string, opts: { wait?: boolean } = {}): ChildProcess {
    if (!existsSync('/usr/bin/gobgpd'))
      throw new Error('/usr/bin/gobgpd is missing: apt-get install -y --no-install-recommends gobgpd');
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, 'gobgpd.toml');
    writeFileSync(file, config);
    const [cmd, args] = this.command('gobgpd', [
      '-f',
      file,
      '--api-hosts',
      GOBGP_API,
      '-p',
      '--pprof-disable',
    ]);
    this.child = spawn(cmd, args, { stdio: 'ignore' });
    if (opts.wait !== false)
      waitUntilSync(
        () => (this.gobgp(['global']), true),
        10_000,
        `gobgpd's API in ${this.netns ?? 'this namespace'}`,
      );
    return this.child;
  }

  /** The `gobgp` client's output for `args`; with `allowFail`, what it printed even when it failed. */
  gobgp(args: string[], opts: { allowFail?: boolean } = {}): string {
    const [cmd, full] = this.command('gobgp', args);
    return run(cmd, full, { timeoutMs: 10_000, ...opts });
  }

  /** SIGKILLs gobgpd and waits (at most 3 s) for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
