/**
 * Package boundaries that the design promises: production packages never import the development
 * tools (the development API server, the real kube-apiserver runner), so a controller, speaker or
 * ingress process never loads them; and @portico/net, the address codec, sits below every package.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../packages/', import.meta.url).pathname;
const production = [
  'allocator',
  'bgp',
  'config',
  'controller',
  'ingress',
  'kube',
  'layer2',
  'native',
  'net',
  'speaker',
];
const devTools = [
  '@portico/dev-apiserver',
  '@portico/dev-kube-apiserver',
  '@portico/testbed',
  '@portico/lab',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

describe('production packages do not depend on the development tools', () => {
  it.each(production)('%s', (pkg) => {
    const manifest = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const offending = devTools.filter((tool) => tool in (manifest.dependencies ?? {}));
    for (const file of sources(join(root, pkg, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const tool of devTools) if (text.includes(`'${tool}'`)) offending.push(`${file} imports ${tool}`);
    }
    expect(offending).toEqual([]);
  });
});

describe('@portico/net is the bottom layer', () => {
  it('depends on no other Portico package, in its manifest or its sources', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'net', 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const offending = Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@portico/'));
    for (const file of sources(join(root, 'net', 'src'))) {
      const imports = readFileSync(file, 'utf8').match(/from '(@portico\/[^']+|\.\.\/[^']*)'/g) ?? [];
      offending.push(...imports.map((i) => `${file}: ${i}`));
    }
    expect(offending).toEqual([]);
  });
});

describe('every package exports a chosen list', () => {
  // `export * from` a file publishes whatever that file exports next; a package's index names
  // what other packages may use (a namespace of its own chosen list, `export * as x`, is allowed).
  const packages = readdirSync(root).filter((name) =>
    statSync(join(root, name, 'src', 'index.ts'), { throwIfNoEntry: false }),
  );
  it.each(packages)('%s', (pkg) => {
    const index = readFileSync(join(root, pkg, 'src', 'index.ts'), 'utf8');
    expect(index.match(/^export \* from .*$/gm) ?? []).toEqual([]);
  });
});
