/**
 * Builds the pinned kube-apiserver, kubectl and etcd from the Go modules named in `go/` and keeps
 * them in a cache keyed by everything that decides the bytes (both go.mod and go.sum files, the
 * build flags and the Go version), so a changed pin builds anew and an unchanged one starts in
 * seconds. The Go module proxy is the only source: no download script, no prebuilt binaries.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processAlive } from './process-alive.js';

const goDir = new URL('../go/', import.meta.url).pathname;

export interface Binaries {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  readonly etcd: string;
  /** The Kubernetes version the binaries were built from, e.g. `v1.36.3`. */
  readonly version: string;
}

export interface BuildOptions {
  /** Where built binaries are kept; default `$PORTICO_CACHE_DIR` or `~/.cache/portico`. */
  cacheDir?: string;
  /** Receives one line of progress at a time (the CLI prints them on stderr). */
  progress?: (line: string) => void;
}

/** The version pinned in go/kube-apiserver/go.mod, e.g. `v1.36.3`. */
export function pinnedKubernetesVersion(): string {
  const mod = readFileSync(join(goDir, 'kube-apiserver', 'go.mod'), 'utf8');
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)\b/m.exec(mod);
  if (!match) throw new Error(`no k8s.io/kubernetes version in ${join(goDir, 'kube-apiserver', 'go.mod')}`);
  return match[1]!;
}

function ldflags(version: string): string {
  const [, major, minor] = /^v(\d+)\.(\d+)/.exec(version)!;
  // Without the stamp /version and kubectl report v0.0.0, and clients that check versions complain.
  const stamp = (pkg: string) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
  ];
  return [
    '-s',
    '-w',
    ...stamp('k8s.io/component-base/version'),
    ...stamp('k8s.io/client-go/pkg/version'),
  ].join(' ');
}

const targets = [
  { name: 'kube-apiserver', module: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  { name: 'kubectl', module: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
  { name: 'etcd', module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
] as const;

/** The go command: on PATH, or where the Go distribution installs itself. */
export async function findGo(
  candidates = ['go', '/usr/local/go/bin/go'],
): Promise<{ go: string; version: string }> {
  for (const go of candidates) {
    try {
      const { stdout } = await promisify(execFile)(go, ['env', 'GOVERSION']);
      return { go, version: stdout.trim() };
    } catch {
      // try the next place
    }
  }
  throw new Error(
    'building the test kube-apiserver needs Go 1.26 or newer, and no go command was found ' +
      '(neither on PATH nor /usr/local/go/bin/go): install Go 1.26+ and make sure `go` is on PATH',
  );
}

function cacheKey(version: string, goVersion: string): string {
  const hash = createHash('sha256');
  for (const module of ['kube-apiserver', 'etcd'])
    for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(goDir, module, file)));
  hash.update(ldflags(version)).update(goVersion);
  return hash.digest('hex').slice(0, 12);
}

export function defaultCacheDir(): string {
  return (
    process.env.PORTICO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'portico')
  );
}

/**
 * Returns the cached binaries, building whatever is missing first. Concurrent callers (two test
 * processes, the lab and a test) wait for one build instead of racing: the build runs under a
 * lock directory and each binary is renamed into place only when complete.
 */
export async function ensureBinaries(options: BuildOptions = {}): Promise<Binaries> {
  const version = pinnedKubernetesVersion();
  const progress = options.progress ?? (() => {});
  const { go, version: goVersion } = await findGo();
  const dir = join(options.cacheDir ?? defaultCacheDir(), `kube-${version}-${cacheKey(version, goVersion)}`);
  const binaries: Binaries = {
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubectl: join(dir, 'kubectl'),
    etcd: join(dir, 'etcd'),
    version,
  };
  const missing = () => targets.filter((t) => !existsSync(join(dir, t.name)));
  if (missing().length === 0) return binaries;

  mkdirSync(dir, { recursive: true });
  const release = await lock(join(dir, '.lock'), progress);
  try {
    for (const target of missing()) {
      progress(
        `building ${target.name} (${target.pkg}) for Kubernetes ${version} with ${goVersion}; a cold build takes minutes`,
      );
      const partial = join(dir, `${target.name}.partial`);
      for (let attempt = 1; ; attempt++) {
        try {
          await goBuild(go, join(goDir, target.module), target.pkg, partial, ldflags(version), (n, seconds) =>
            progress(`building ${target.name}: ${n} packages compiled, ${seconds} s`),
          );
          break;
        } catch (err) {
          // The module proxy can be briefly unreachable; what was downloaded stays in Go's cache.
          if (
            attempt === 3 ||
            !/dial tcp|i\/o timeout|connection (reset|refused)|TLS handshake/.test(String(err))
          )
            throw err;
          progress(`the Go module proxy did not answer (attempt ${attempt} of 3); retrying in 30 s`);
          await new Promise((r) => setTimeout(r, 30_000));
        }
      }
      renameSync(partial, join(dir, target.name));
      progress(`built ${join(dir, target.name)}`);
    }
  } finally {
    release();
  }
  return binaries;
}

export function goBuild(
  go: string,
  cwd: string,
  pkg: string,
  out: string,
  flags: string,
  tick: (packages: number, seconds: number) => void,
): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['build', '-v', '-trimpath', '-ldflags', flags, '-o', out, pkg], {
      cwd,
      // GOWORK=off and -buildvcs=false: the modules sit inside our git tree and our workspace.
      env: { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GOFLAGS: '-buildvcs=false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let compiled = 0;
    let tail = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      // `go build -v` names each package as it compiles; errors arrive on the same stream.
      compiled += chunk.split('\n').length - 1;
      tail = (tail + chunk).slice(-4000);
    });
    const timer = setInterval(() => tick(compiled, Math.round((Date.now() - started) / 1000)), 15_000);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `go build ${pkg} failed (${signal ?? `exit ${code}`}); is the Go module proxy reachable and is there ` +
              `disk space for the module and build caches (a few GB)? Last output:\n${tail}`,
          ),
        );
    });
  });
}

/** A lock directory with the holder's pid; a lock whose holder is gone is taken over. */
export async function lock(path: string, progress: (line: string) => void): Promise<() => void> {
  let told = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!holderAlive(path)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!told) progress(`waiting for another build of the test binaries (lock ${path})`);
    told = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function holderAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(path, 'pid'), 'utf8'));
  } catch {
    // No pid file yet: the holder is between mkdir and write, unless that was long ago and it died there.
    return Date.now() - statSync(path).mtimeMs < 10_000;
  }
  return processAlive(pid);
}
