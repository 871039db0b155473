/**
 * Network namespaces: create, delete (with whatever still runs inside), list, and run commands in
 * them. Every end-to-end suite, benchmark and the lab name their namespaces with their own prefix,
 * so two of them never share one.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { run, type RunOptions } from './run.js';

/** `ip ARGS`, in namespace `ns` when given (`ip -n ns ARGS`). */
export function ip(ns: string | undefined, ...args: string[]): string {
  return run('ip', ns ? ['-n', ns, ...args] : args);
}

export function createNetns(name: string): void {
  run('ip', ['netns', 'add', name]);
}

/** Names of the namespaces that exist now. */
export function listNetns(): string[] {
  return run('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/**
 * Deletes namespace `name` after SIGKILLing every process still in it (a daemon left behind would
 * keep its sockets); a namespace that does not exist is fine.
 */
export function deleteNetns(name: string): void {
  for (const pid of run('ip', ['netns', 'pids', name], { allowFail: true }).split('\n').filter(Boolean))
    run('kill', ['-9', pid], { allowFail: true });
  run('ip', ['netns', 'del', name], { allowFail: true });
}

/** Runs `cmd args` inside namespace `ns` and returns its stdout. */
export function netnsExec(ns: string, cmd: string, args: string[], opts?: RunOptions): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/**
 * Starts `cmd args` inside namespace `ns`. `ip netns exec` replaces itself with the command, so
 * the child's pid is the command's own.
 */
export function spawnInNetns(
  ns: string,
  cmd: string,
  args: string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

/** Sets kernel parameters inside namespace `ns` (`sysctl -w key=value ...`). */
export function sysctl(ns: string, ...settings: string[]): void {
  netnsExec(ns, 'sysctl', ['-q', '-w', ...settings]);
}
