/**
 * Suites and benchmarks that need root and routing daemons say so at once, naming what to install:
 * a missing prerequisite fails the run, it never skips it silently.
 */
import { existsSync } from 'node:fs';

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root (network namespaces)`);
}

/** Each tool as [absolute path, Debian package that installs it]. */
export function requireTools(what: string, tools: Array<[path: string, debianPackage: string]>): void {
  for (const [path, pkg] of tools)
    if (!existsSync(path))
      throw new Error(`${what} needs ${path}: apt-get install -y --no-install-recommends ${pkg}`);
}
