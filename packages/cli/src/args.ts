/** Flag values the subcommands share; a bad one throws an Error naming the flag (a usage error). */

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
