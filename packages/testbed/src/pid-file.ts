/** Daemons started by the testbed write pid files; these read them and stop what they name. */
import { readFileSync, rmSync } from 'node:fs';

/** The pid in `file`, or undefined when there is no such file (the daemon never started). */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to the process named in `file`, without waiting. False when nothing was running. */
export function signalPidFile(file: string, signal: NodeJS.Signals): boolean {
  const pid = readPidFile(file);
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/**
 * Sends `signal` to the process named in `file` and waits (at most 5 s) until it is gone, then
 * removes the file. SIGKILL simulates a crash. Asynchronous, so that Node can reap a child of ours.
 */
export async function stopPidFile(file: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = readPidFile(file);
  if (pid === undefined || !signalPidFile(file, signal)) {
    rmSync(file, { force: true });
    return;
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) throw new Error(`process ${pid} (${file}) did not exit after ${signal}`);
  rmSync(file, { force: true });
}
