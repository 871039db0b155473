// Runs driver.mjs (one BfdSession) inside a network namespace and collects its JSON-line events.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const driver = fileURLToPath(new URL('./driver.mjs', import.meta.url));

export interface SessionEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

export class SessionProcess {
  readonly events: SessionEvent[] = [];
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(netns: string, options: Record<string, unknown>) {
    // process.execPath is the Node 24 that runs the tests.
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, driver, JSON.stringify(options)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as SessionEvent);
      } catch {
        this.stderr += `${line}\n`;
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Waits (bounded) for an event matching `predicate`, looking at events from index `from` on. */
  async waitFor(
    what: string,
    predicate: (e: SessionEvent) => boolean,
    timeoutMs: number,
    from = 0,
  ): Promise<SessionEvent> {
    const start = Date.now();
    for (let i = 0; i < timeoutMs / 20 + 1 && Date.now() - start <= timeoutMs; i++) {
      const found = this.events.slice(from).find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null && !this.events.slice(from).some(predicate)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`,
    );
  }

  async status(): Promise<SessionEvent> {
    const from = this.events.length;
    this.send({ op: 'status' });
    return this.waitFor('status', (e) => e.event === 'status', 3000, from);
  }

  async stop(silent: boolean): Promise<SessionEvent> {
    const from = this.events.length;
    this.send({ op: 'stop', silent });
    return this.waitFor('stopped', (e) => e.event === 'stopped', 5000, from);
  }

  /** Ends the process if still running and waits (bounded) for it to exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
}
