/**
 * The manifest texts a command was pointed at: each argument a file (`-` is standard input) or a
 * directory, whose .yaml/.yml/.json files are read in name order (not recursing).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ManifestText {
  /** The file's path, or `standard input`. */
  readonly source: string;
  readonly text: string;
}

/** The texts, or undefined after printing why not (`command` starts the message). */
export function readManifestFiles(paths: readonly string[], command: string): ManifestText[] | undefined {
  const out: ManifestText[] = [];
  for (const path of paths) {
    try {
      if (path !== '-' && statSync(path).isDirectory()) {
        const names = readdirSync(path)
          .filter((n) => /\.(ya?ml|json)$/.test(n))
          .sort();
        if (names.length === 0) {
          console.error(`${command}: ${path} holds no .yaml, .yml or .json file`);
          return undefined;
        }
        for (const n of names) out.push({ source: join(path, n), text: readFileSync(join(path, n), 'utf8') });
      } else
        out.push({
          source: path === '-' ? 'standard input' : path,
          text: readFileSync(path === '-' ? 0 : path, 'utf8'),
        });
    } catch (err) {
      console.error(`${command}: cannot read ${path}: ${(err as Error).message}`);
      return undefined;
    }
  }
  return out;
}
