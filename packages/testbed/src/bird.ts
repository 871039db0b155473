/**
 * BIRD 2 in one namespace: the one writer of its configuration (BGP sessions that import
 * everything and export nothing, optionally into the kernel with multipath), the daemon in the
 * foreground in its own process group, and birdc through its private control socket.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPidFile, signalPidFile, stopPidFile } from './pid-file.js';
import { run, waitUntilSync } from './run.js';

export const BIRD = '/usr/sbin/bird';

export function birdInstalled(): boolean {
  return existsSync(BIRD) && existsSync('/usr/sbin/birdc');
}

export interface BirdChannel {
  family: 'ipv4' | 'ipv6';
  /** Next hops resolved as directly connected (iBGP to a neighbour on the link). */
  gatewayDirect?: boolean;
}

export interface BirdSession {
  /** The protocol's name, which `show protocols NAME` takes. */
  name: string;
  local: string;
  localAs: number;
  neighbor: string;
  neighborAs: number;
  /** The neighbour is on a connected link (iBGP defaults to multihop). */
  direct?: boolean;
  connectRetry?: number;
  holdTime?: number;
  /** false: no graceful-restart helper, so a speaker that dies is withdrawn at once. */
  gracefulRestart?: false;
  /** TCP-MD5 password. */
  password?: string;
  channels: BirdChannel[];
}

export interface BirdConfig {
  routerId: string;
  /** Install the best routes in the namespace's kernel, all equal paths of a prefix together. */
  exportToKernel?: boolean;
  sessions: BirdSession[];
}

function sessionText(s: BirdSession): string {
  const options = [`local ${s.local} as ${s.localAs};`, `neighbor ${s.neighbor} as ${s.neighborAs};`];
  if (s.direct) options.push('direct;');
  if (s.connectRetry !== undefined) options.push(`connect retry time ${s.connectRetry};`);
  if (s.holdTime !== undefined) options.push(`hold time ${s.holdTime};`);
  if (s.gracefulRestart === false) options.push('graceful restart off;');
  if (s.password !== undefined) options.push(`password "${s.password}";`);
  const channels = s.channels.map(
    (c) => `${c.family} { import all; export none;${c.gatewayDirect ? ' gateway direct;' : ''} };`,
  );
  return `protocol bgp ${s.name} { ${options.join(' ')}\n  ${channels.join(' ')} }\n`;
}

/** bird.conf for `config`. */
export function birdConfig(config: BirdConfig): string {
  let text = `router id ${config.routerId};\nprotocol device { scan time 10; }\n`;
  if (config.exportToKernel)
    text +=
      'protocol kernel { ipv4 { export all; }; merge paths on; }\n' +
      'protocol kernel { ipv6 { export all; }; merge paths on; }\n';
  return text + config.sessions.map(sessionText).join('');
}

export class Bird {
  /** BIRD in namespace `netns`, its files in `dir` (created when a daemon starts). */
  constructor(
    readonly netns: string,
    readonly dir: string,
  ) {}

  static inTempDir(netns: string, prefix: string): Bird {
    return new Bird(netns, mkdtempSync(join(tmpdir(), `${prefix}-`)));
  }

  get socket(): string {
    return join(this.dir, 'bird.ctl');
  }

  get pidFile(): string {
    return join(this.dir, 'bird.pid');
  }

  /** Starts bird with `config`; returns once its control socket exists. */
  start(config: string): void {
    mkdirSync(this.dir, { recursive: true });
    const conf = join(this.dir, 'bird.conf');
    writeFileSync(conf, config);
    const args = ['netns', 'exec', this.netns, BIRD, '-f', '-c', conf, '-s', this.socket, '-P', this.pidFile];
    spawn('ip', args, { stdio: 'ignore', detached: true }).unref();
    waitUntilSync(() => existsSync(this.socket), 10_000, `BIRD in ${this.netns}`);
  }

  pid(): number | undefined {
    return readPidFile(this.pidFile);
  }

  /** Sends `signal` to bird without waiting; false when it was not running. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return signalPidFile(this.pidFile, signal);
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopPidFile(this.pidFile, signal);
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** birdc's output for `command`; birdc exits non-zero for "Network not found", so callers read the text. */
  birdc(command: string): string {
    return run('birdc', ['-s', this.socket, ...command.split(' ')], { allowFail: true, timeoutMs: 5_000 });
  }
}
