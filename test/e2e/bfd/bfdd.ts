// FRR bfdd on its own in the router namespace (testbed.md sections 1.4 and 6): a private state
// directory owned by frr, its own config file, --bfdctl, and vtysh through the private vty socket.
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { run } from './topology.js';

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

export class Bfdd {
  readonly dir = mkdtempSync(join(tmpdir(), 'pbfd-frr-'));

  constructor(
    private readonly netns: string,
    private readonly config: string,
  ) {}

  start(): void {
    writeFileSync(join(this.dir, 'bfdd.conf'), this.config);
    const ids = run('id', ['-u', 'frr']).trim();
    const gid = run('id', ['-g', 'frr']).trim();
    // bfdd has no -S: it drops to user frr, which must own the state directory.
    chownSync(this.dir, Number(ids), Number(gid));
    chownSync(join(this.dir, 'bfdd.conf'), Number(ids), Number(gid));
    const d = this.dir;
    run('ip', [
      'netns',
      'exec',
      this.netns,
      '/usr/lib/frr/bfdd',
      '-d',
      '-u',
      'frr',
      '-g',
      'frr',
      '-P',
      '0',
      '-f',
      `${d}/bfdd.conf`,
      '-i',
      `${d}/bfdd.pid`,
      '--vty_socket',
      d,
      '--bfdctl',
      `${d}/bfdd.sock`,
      '-z',
      `${d}/zserv.api`,
      '--log',
      `file:${d}/bfdd.log`,
    ]);
  }

  get pid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'bfdd.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops bfdd (SIGKILL simulates a crash: no AdminDown goes out) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pid = this.pid;
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
        rmSync(join(this.dir, 'bfdd.pid'), { force: true });
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`bfdd ${pid} did not exit after ${signal}`);
  }

  peers(): BfddPeer[] {
    const out = execFileSync('vtysh', ['--vty_socket', this.dir, '-c', 'show bfd peers json'], {
      encoding: 'utf8',
      timeout: 5000,
    });
    return JSON.parse(out) as BfddPeer[];
  }

  peer(address: string): BfddPeer | undefined {
    return this.peers().find((p) => p.peer === address);
  }

  /** Polls the peer every 50 ms until `predicate` holds; returns it and the time it took. */
  async waitForPeer(
    address: string,
    predicate: (peer: BfddPeer) => boolean,
    timeoutMs: number,
  ): Promise<{ peer: BfddPeer; elapsedMs: number }> {
    const start = Date.now();
    let last: BfddPeer | undefined;
    for (let i = 0; i < timeoutMs / 50 + 1 && Date.now() - start <= timeoutMs; i++) {
      last = this.peer(address);
      if (last && predicate(last)) return { peer: last, elapsedMs: Date.now() - start };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`bfdd peer ${address} not as expected after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'bfdd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
