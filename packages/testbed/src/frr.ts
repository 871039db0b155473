/**
 * FRR daemons in one namespace, the way testbed.md §1.3, §1.4 and §6 found to work: a private state
 * directory (config, pid file, log and vty socket per daemon) and vtysh through the private vty
 * socket. Two ways to run bgpd: alone (`-Z`, no zebra: routes stay in BGP, enough to see what a
 * speaker announces), or with zebra (and bfdd) so routes reach the namespace's kernel.
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsExec } from './netns.js';
import { readPidFile, signalPidFile, stopPidFile } from './pid-file.js';
import { run, waitUntilSync } from './run.js';

export const FRR_DIR = '/usr/lib/frr';

export type FrrDaemon = 'zebra' | 'bfdd' | 'bgpd';

/** True when FRR's bgpd, zebra and vtysh are installed. */
export function frrInstalled(): boolean {
  return existsSync(`${FRR_DIR}/bgpd`) && existsSync(`${FRR_DIR}/zebra`) && existsSync('/usr/bin/vtysh');
}

/** One session as `show bfd peers json` reports it. */
export interface BfddPeer {
  peer: string;
  local: string;
  status: string;
  id: number;
  'remote-id': number;
  diagnostic: string;
  'remote-diagnostic': string;
  'receive-interval': number;
  'transmit-interval': number;
  'remote-receive-interval': number;
  'remote-transmit-interval': number;
  'remote-detect-multiplier': number;
}

export class Frr {
  /** FRR in namespace `netns`, its files in `dir` (created when a daemon starts). */
  constructor(
    readonly netns: string,
    readonly dir: string,
  ) {}

  /** FRR with its files in a fresh temporary directory named after `prefix`. */
  static inTempDir(netns: string, prefix: string): Frr {
    return new Frr(netns, mkdtempSync(join(tmpdir(), `${prefix}-`)));
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  /**
   * bgpd alone, without zebra (`-Z`), as root (`-S`), no listener on the vty port (`-P 0`), in the
   * background; returns once its vty socket exists.
   */
  startBgpd(config: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.file('bgpd.conf'), config);
    const args = ['netns', 'exec', this.netns, `${FRR_DIR}/bgpd`, '-Z', '-n', '-S', '-P', '0'];
    args.push('-f', this.file('bgpd.conf'), '-i', this.file('bgpd.pid'), '--vty_socket', this.dir);
    args.push('--log', `file:${this.file('bgpd.log')}`);
    spawn('ip', args, { stdio: 'ignore', detached: true }).unref();
    this.waitForVty('bgpd');
  }

  /**
   * One daemon of a zebra-based set (start zebra first: it owns zserv.api). The daemons drop to
   * user frr, so the directory and config are owned by it (zebra refuses to run as root outside
   * the frrvty group, testbed.md §1.4). Returns once its vty socket exists.
   */
  startDaemon(daemon: FrrDaemon, config: string): void {
    const uid = Number(run('id', ['-u', 'frr']).trim());
    const gid = Number(run('id', ['-g', 'frr']).trim());
    mkdirSync(this.dir, { recursive: true });
    const conf = this.file(`${daemon}.conf`);
    writeFileSync(conf, config);
    chownSync(this.dir, uid, gid);
    chownSync(conf, uid, gid);
    const args = ['-d', '-u', 'frr', '-g', 'frr', '-P', '0', '-f', conf, '-i', this.file(`${daemon}.pid`)];
    args.push('--vty_socket', this.dir, '-z', this.file('zserv.api'));
    args.push('--log', `file:${this.file(`${daemon}.log`)}`);
    if (daemon === 'bfdd') args.push('--bfdctl', this.file('bfdd.sock'));
    netnsExec(this.netns, `${FRR_DIR}/${daemon}`, args);
    this.waitForVty(daemon);
  }

  private waitForVty(daemon: FrrDaemon): void {
    try {
      waitUntilSync(() => existsSync(this.file(`${daemon}.vty`)), 10_000, `FRR ${daemon} in ${this.netns}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its log: ${this.log(daemon).slice(-2000)}`, { cause: err });
    }
  }

  pid(daemon: FrrDaemon): number | undefined {
    return readPidFile(this.file(`${daemon}.pid`));
  }

  /** Pids of the daemons running from this directory. */
  pids(): number[] {
    return (['zebra', 'bfdd', 'bgpd'] as const).flatMap((d) => this.pid(d) ?? []);
  }

  /** Sends `signal` to a daemon without waiting; false when it was not running. */
  kill(daemon: FrrDaemon, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return signalPidFile(this.file(`${daemon}.pid`), signal);
  }

  /** Stops a daemon and waits for it (SIGKILL simulates a crash: bfdd then sends no AdminDown). */
  async stop(daemon: FrrDaemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopPidFile(this.file(`${daemon}.pid`), signal);
  }

  /** Kills every daemon, then removes the state directory. */
  async remove(): Promise<void> {
    for (const daemon of ['bgpd', 'bfdd', 'zebra'] as const) await this.stop(daemon, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** vtysh's output for `command`; with `allowFail`, what it printed even when it failed. */
  vtysh(command: string, opts: { allowFail?: boolean } = {}): string {
    return run('vtysh', ['--vty_socket', this.dir, '-c', command], { timeoutMs: 5_000, ...opts });
  }

  /** vtysh's JSON output for `command` (a command ending in `json`); {} when it printed nothing. */
  vtyshJson<T = unknown>(command: string): T {
    return JSON.parse(this.vtysh(command) || '{}') as T;
  }

  /** bfdd's session with `address`, if it has one. */
  bfdPeer(address: string): BfddPeer | undefined {
    return (JSON.parse(this.vtysh('show bfd peers json')) as BfddPeer[]).find((p) => p.peer === address);
  }

  log(daemon: FrrDaemon): string {
    try {
      return readFileSync(this.file(`${daemon}.log`), 'utf8');
    } catch {
      return '';
    }
  }
}
