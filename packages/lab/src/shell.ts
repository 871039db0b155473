/**
 * Small process helpers for the lab: start a detached background process with a log file, stop
 * its process group, wait for a condition with a deadline. Running a command and namespaces are
 * the testbed's (@portico/testbed).
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { shippedNodeOptions, type ShippedComponent } from '@portico/testbed/measure';

/**
 * The `portico` entry point of this checkout, so the lab starts the components the product ships
 * (a path, not an import: the CLI loads the lab, not the other way round).
 */
export const PORTICO = fileURLToPath(new URL('../../cli/bin/portico.js', import.meta.url));

/**
 * The Node flags the manifests give COMPONENT (its container's NODE_OPTIONS), as arguments before
 * the program: the lab runs the processes as a cluster would.
 */
export const shippedNodeFlags = (component: ShippedComponent): string[] =>
  shippedNodeOptions(component).split(/\s+/).filter(Boolean);

/**
 * A lab-internal program, compiled to dist/NAME.js (resolved through dist so it also works when
 * this module is loaded from its TypeScript source, as in the tests).
 */
export const labProgram = (name: string) => fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));

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

/** Starts `node [nodeFlags] PROGRAM args` inside a network namespace, in the background. */
export function nodeInNetns(
  ns: string,
  program: string,
  args: string[],
  log: string,
  nodeFlags: string[] = [],
): number {
  return background('ip', ['netns', 'exec', ns, process.execPath, ...nodeFlags, program, ...args], log);
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
