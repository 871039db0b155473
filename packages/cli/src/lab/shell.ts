/**
 * Small process helpers for the lab: run a command and fail with its stderr, start a detached
 * background process with a log file, wait for a condition with a deadline.
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The `portico` entry point, so the lab can start its own components. */
export const PORTICO = fileURLToPath(new URL('../../bin/portico.js', import.meta.url));

/**
 * A lab-internal program, compiled to dist/lab/NAME.js (resolved through dist so it also works when
 * this module is loaded from its TypeScript source, as in the tests).
 */
export const labProgram = (name: string) =>
  fileURLToPath(new URL(`../../dist/lab/${name}.js`, import.meta.url));

/** Runs a command; throws with its stderr unless it succeeds (or `allowFail`). Returns stdout. */
export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: 30_000 });
  if (r.error && !opts.allowFail) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout ?? '';
}

/** `ip netns exec NS cmd args...` */
export const inNetns = (ns: string, cmd: string, args: string[], opts?: { allowFail?: boolean }) =>
  sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);

/**
 * Starts a detached process (its own process group, so stopping it also stops what it started),
 * with stdout and stderr appended to LOG. Returns its pid.
 */
export function background(cmd: string, args: string[], log: string): number {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

/** Starts `node PROGRAM args` inside a network namespace, in the background. */
export function nodeInNetns(ns: string, program: string, args: string[], log: string): number {
  return background('ip', ['netns', 'exec', ns, process.execPath, program, ...args], log);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the process group, then SIGKILL it if it has not gone within `graceMs`. */
export async function stopGroup(pid: number, graceMs = 3_000): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        // already gone
      }
    }
  };
  if (!alive(pid)) return;
  signal('SIGTERM');
  try {
    await waitFor(() => !alive(pid), graceMs, 'stop');
  } catch {
    signal('SIGKILL');
    await waitFor(() => !alive(pid), 2_000, `process ${pid} to die`).catch(() => undefined);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}
