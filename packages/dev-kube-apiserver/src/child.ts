/**
 * One control-plane process (etcd or kube-apiserver): started under `setpriv --pdeathsig KILL`
 * so it dies with us even when we are killed without a chance to clean up (no orphans holding
 * ports and data directories), its output kept in a log file and a short tail for error messages,
 * and stopped with SIGTERM, then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';

export class ControlPlaneProcess {
  private readonly child: ChildProcess;
  private tail = '';
  private exited: Promise<void>;
  exitReason: string | undefined;

  constructor(
    readonly name: string,
    binary: string,
    args: string[],
    logFile: string,
  ) {
    const log = createWriteStream(logFile, { flags: 'a' });
    const [command, argv] = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]]
      : [binary, args];
    this.child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        log.write(chunk);
        this.tail = (this.tail + chunk.toString('utf8')).slice(-3000);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.exitReason = err.message;
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        this.exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
        log.end();
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitReason === undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines it printed, for error messages. */
  lastOutput(lines = 15): string {
    return this.tail.split('\n').slice(-lines).join('\n');
  }

  /** Polls `ready` until it answers true; fails early with the process' own words if it exits. */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(
          `${this.name} ${this.exitReason} while starting; its last output:\n${this.lastOutput()}`,
        );
      if (await ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `${this.name} was not ready after ${timeoutMs} ms; its last output:\n${this.lastOutput()}`,
    );
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
