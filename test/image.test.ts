/**
 * The image holds the product and nothing else: its final stage copies exactly the packages the
 * command line depends on (its `dependencies`, transitively), so the lab and the testbed, which
 * are development tools, never ship; and the CLI reaches the lab only through a dynamic import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url).pathname;
const devOnly = ['lab', 'testbed'];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const manifests = new Map<string, { dir: string; manifest: Manifest }>(
  readdirSync(`${root}packages`).map((dir) => {
    const manifest = JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8')) as Manifest;
    return [manifest.name, { dir, manifest }];
  }),
);

/** Package directories the CLI needs at run time: it and its workspace dependencies, transitively. */
function productClosure(): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    const pkg = manifests.get(name);
    if (!pkg || seen.has(pkg.dir)) return;
    seen.add(pkg.dir);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) visit(dep);
  };
  visit('portico');
  return [...seen].sort();
}

/** The lines of the Dockerfile's last stage (the image that ships). */
function finalStage(): string[] {
  const lines = readFileSync(`${root}Dockerfile`, 'utf8').split('\n');
  const from = lines.map((l, i) => (/^FROM /.test(l) ? i : -1)).filter((i) => i >= 0);
  return lines.slice(from.at(-1));
}

describe('the image', () => {
  it('copies exactly the packages the CLI depends on, one by one', () => {
    const copied = finalStage().flatMap((l) => {
      const m = /^COPY --from=build \/src\/packages\/([a-z0-9-]+) \.\/packages\/\1$/.exec(l);
      return m ? [m[1]!] : [];
    });
    expect(copied.sort()).toEqual(productClosure());
    // No copy of the whole packages directory, which would bring the development tools along.
    expect(finalStage().filter((l) => /\/src\/packages\/?\s/.test(`${l} `))).toEqual([]);
  });

  it('leaves out the lab and the testbed, and their workspace links', () => {
    expect(productClosure().filter((dir) => devOnly.includes(dir))).toEqual([]);
    const build = readFileSync(`${root}Dockerfile`, 'utf8');
    for (const dir of devOnly)
      expect(build).toMatch(new RegExp(`rm -f [^\\n]*node_modules/@portico/${dir}\\b`));
  });

  it('the CLI names the lab only as a development dependency and loads it with a dynamic import', () => {
    const cli = manifests.get('portico')!.manifest as Manifest & { devDependencies?: Record<string, string> };
    expect(Object.keys(cli.dependencies ?? {})).not.toContain('@portico/lab');
    expect(Object.keys(cli.devDependencies ?? {})).toContain('@portico/lab');
    const command = readFileSync(`${root}packages/cli/src/commands/lab.ts`, 'utf8');
    expect(command).toMatch(/await import\('@portico\/lab'\)/);
    expect(command).not.toMatch(/^import .*'@portico\/lab'/m);
  });
});
