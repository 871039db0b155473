/**
 * Running the system tools the testbed drives (ip, vtysh, birdc, gobgp): one way to run a command
 * and fail with its stderr, and bounded synchronous waits for daemons that signal readiness by
 * creating a socket or answering a command.
 */
import { spawnSync } from 'node:child_process';

export interface RunOptions {
  /** Return what the command printed instead of throwing when it fails. */
  allowFail?: boolean;
  /** Text written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
}

/** Runs a command; throws with its stderr unless it succeeds (or `allowFail`). Returns stdout. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  if (r.error && !opts.allowFail) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout ?? '';
}

/** Blocks the thread for `ms` (set-up code only: a daemon starting takes a fraction of a second). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Checks `ready` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
export function waitUntilSync(ready: () => boolean, timeoutMs: number, what: string): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = ready();
    } catch {
      // not yet
    }
    if (ok) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    sleepSync(100);
  }
}
