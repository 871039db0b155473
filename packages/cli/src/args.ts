/** Flag values the subcommands share; a bad one throws an Error naming the flag (a usage error). */
import { readFileSync } from 'node:fs';

/** A port number (0 lets the system pick one). */
export function portArg(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name}: not a port: ${text}`);
  return n;
}

/** A duration in seconds, 0 or more (decimals allowed), returned in milliseconds. */
export function secondsArg(text: string, name: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(`--${name}: not a number of seconds: ${text}`);
  return Number(text) * 1000;
}

/**
 * The text of a command's one FILE argument (`-` is standard input). Undefined after printing the
 * usage error (exit 2) when there is not exactly one, or it cannot be read.
 */
export function readFileArgument(command: string, files: string[], usage: string): string | undefined {
  if (files.length !== 1) {
    console.error(`portico ${command}: ${files.length === 0 ? 'missing FILE' : 'only one FILE'}\n${usage}`);
    return undefined;
  }
  const file = files[0]!;
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    console.error(`portico ${command}: cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
}
