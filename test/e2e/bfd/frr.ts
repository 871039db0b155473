// FRR daemons (zebra, bfdd, bgpd) in one namespace, the way testbed.md sections 1.4 and 6 found to
// work: a private state directory owned by frr (the daemons drop to that user), one config file
// per daemon, --bfdctl for bfdd, and vtysh through the private vty socket.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './topology.js';

export type FrrDaemon = 'zebra' | 'bfdd' | 'bgpd';

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

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads `read()` every 50 ms until `predicate` holds, for at most `timeoutMs` (the elapsed time is
 * what the timing assertions measure); otherwise throws with `failure(last value read)`.
 */
export async function pollUntil<T>(
  read: () => T,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  failure: (last: T | undefined) => string,
): Promise<{ value: T; elapsedMs: number }> {
  const start = Date.now();
  let last: T | undefined;
  for (let i = 0; i < timeoutMs / 50 + 1 && Date.now() - start <= timeoutMs; i++) {
    const value = read();
    last = value;
    if (predicate(value)) return { value, elapsedMs: Date.now() - start };
    await sleep(50);
  }
  throw new Error(failure(last));
}

export class Frr {
  readonly dir = mkdtempSync(join(tmpdir(), 'pbfd-frr-'));
  private readonly uid = Number(run('id', ['-u', 'frr']).trim());
  private readonly gid = Number(run('id', ['-g', 'frr']).trim());

  constructor(private readonly netns: string) {
    chownSync(this.dir, this.uid, this.gid);
  }

  /** Starts one daemon with its own config; zebra first when it is used (it owns zserv.api). */
  async start(daemon: FrrDaemon, config: string): Promise<void> {
    const d = this.dir;
    const file = join(d, `${daemon}.conf`);
    writeFileSync(file, config);
    chownSync(file, this.uid, this.gid);
    const args = ['-d', '-u', 'frr', '-g', 'frr', '-P', '0', '-f', file, '-i', join(d, `${daemon}.pid`)];
    args.push('--vty_socket', d, '-z', join(d, 'zserv.api'), '--log', `file:${join(d, `${daemon}.log`)}`);
    if (daemon === 'bfdd') args.push('--bfdctl', join(d, 'bfdd.sock'));
    run('ip', ['netns', 'exec', this.netns, `/usr/lib/frr/${daemon}`, ...args]);
    // Ready when its vty socket answers.
    for (let i = 0; i < 50; i++) {
      if (existsSync(join(d, `${daemon}.vty`))) return;
      await sleep(100);
    }
    throw new Error(`${daemon} did not start: ${this.log(daemon)}`);
  }

  pid(daemon: FrrDaemon): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, `${daemon}.pid`), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops a daemon (SIGKILL simulates a crash: bfdd then sends no AdminDown) and waits for it. */
  async stop(daemon: FrrDaemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pid = this.pid(daemon);
    if (!pid) return;
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        rmSync(join(this.dir, `${daemon}.pid`), { force: true });
        return;
      }
      await sleep(50);
    }
    throw new Error(`${daemon} (${pid}) did not exit after ${signal}`);
  }

  /** Stops every daemon, then removes the state directory. */
  async remove(): Promise<void> {
    for (const daemon of ['bgpd', 'bfdd', 'zebra'] as const) await this.stop(daemon, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  vtysh(command: string): string {
    return execFileSync('vtysh', ['--vty_socket', this.dir, '-c', command], {
      encoding: 'utf8',
      timeout: 5000,
    });
  }

  bfdPeer(address: string): BfddPeer | undefined {
    return (JSON.parse(this.vtysh('show bfd peers json')) as BfddPeer[]).find((p) => p.peer === address);
  }

  /** Polls `show bfd peers json` every 50 ms until the peer satisfies `predicate`. */
  async waitForBfdPeer(
    address: string,
    predicate: (peer: BfddPeer) => boolean,
    timeoutMs: number,
  ): Promise<{ peer: BfddPeer; elapsedMs: number }> {
    const { value, elapsedMs } = await pollUntil(
      () => this.bfdPeer(address),
      (peer) => peer !== undefined && predicate(peer),
      timeoutMs,
      (last) => `bfdd peer ${address} not as expected after ${timeoutMs} ms: ${JSON.stringify(last)}`,
    );
    return { peer: value!, elapsedMs };
  }

  log(daemon: FrrDaemon): string {
    try {
      return readFileSync(join(this.dir, `${daemon}.log`), 'utf8');
    } catch {
      return '';
    }
  }
}
