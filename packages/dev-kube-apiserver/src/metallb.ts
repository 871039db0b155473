/**
 * Builds MetalLB's controller and speaker from the Go module proxy (the version pinned in
 * go/metallb/go.mod), for the memory benchmark that compares Portico's processes with MetalLB's on
 * the same machine and API server. Cached like the kube-apiserver binaries (see build.ts): keyed by
 * the module's go.mod and go.sum, the flags and the Go version.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BuildOptions, defaultCacheDir, findGo, goBuild, lock } from './build.js';

const moduleDir = new URL('../go/metallb/', import.meta.url).pathname;
const ldflags = '-s -w';

export interface MetallbBinaries {
  readonly controller: string;
  readonly speaker: string;
  /** MetalLB's version, e.g. `v0.15.2`. */
  readonly version: string;
  /** The module's source in the Go module cache, e.g. for its CRDs under `config/crd/bases`. */
  readonly sourceDir: string;
}

/** The MetalLB version pinned in go/metallb/go.mod. */
export function pinnedMetallbVersion(): string {
  const mod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const match = /^\s*(?:require\s+)?go\.universe\.tf\/metallb\s+(v\d+\.\d+\.\d+)\b/m.exec(mod);
  if (!match) throw new Error(`no go.universe.tf/metallb version in ${join(moduleDir, 'go.mod')}`);
  return match[1]!;
}

/** Returns the cached MetalLB binaries, building whatever is missing first. */
export async function ensureMetallbBinaries(options: BuildOptions = {}): Promise<MetallbBinaries> {
  const version = pinnedMetallbVersion();
  const progress = options.progress ?? (() => {});
  const { go, version: goVersion } = await findGo();
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(moduleDir, file)));
  hash.update(ldflags).update(goVersion);
  const dir = join(
    options.cacheDir ?? defaultCacheDir(),
    `metallb-${version}-${hash.digest('hex').slice(0, 12)}`,
  );
  const env = { ...process.env, GOWORK: 'off', GOFLAGS: '-buildvcs=false' };
  // `go list` downloads the module when the cache lacks it and says where its source is.
  const { stdout } = await promisify(execFile)(
    go,
    ['list', '-m', '-f', '{{.Dir}}', 'go.universe.tf/metallb'],
    {
      cwd: moduleDir,
      env,
    },
  );
  const binaries: MetallbBinaries = {
    controller: join(dir, 'controller'),
    speaker: join(dir, 'speaker'),
    version,
    sourceDir: stdout.trim(),
  };
  const missing = () => (['controller', 'speaker'] as const).filter((name) => !existsSync(join(dir, name)));
  if (missing().length === 0) return binaries;

  mkdirSync(dir, { recursive: true });
  const release = await lock(join(dir, '.lock'), progress);
  try {
    for (const name of missing()) {
      const pkg = `go.universe.tf/metallb/${name}`;
      progress(
        `building MetalLB's ${name} (${pkg} ${version}) with ${goVersion}; a cold build takes minutes`,
      );
      const partial = join(dir, `${name}.partial`);
      await goBuild(go, moduleDir, pkg, partial, ldflags, (n, seconds) =>
        progress(`building ${name}: ${n} packages compiled, ${seconds} s`),
      );
      renameSync(partial, join(dir, name));
      progress(`built ${join(dir, name)}`);
    }
  } finally {
    release();
  }
  return binaries;
}
