/**
 * The two proxies under one test: Portico (its TypeScript sources, in a child process so that a
 * crash is observed instead of taking the test runner down) and Debian's nginx (a real process
 * with a generated configuration in a temporary directory), each in front of its own set of the
 * same three recording pods, so one case can run against both at once.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedPair } from '@portico/ingress';
import { RecordingPod } from './pods.js';
import { nginxConf, POD_NAMES, type PodName, type PodPorts } from './routes.js';

export const TIMEOUT_MS = 1_000;

export type PodSet = Record<PodName, RecordingPod>;

export async function startPods(): Promise<PodSet> {
  const pods = Object.fromEntries(POD_NAMES.map((n) => [n, new RecordingPod(n)])) as PodSet;
  await Promise.all(POD_NAMES.map((n) => pods[n].start()));
  return pods;
}

export const podPorts = (pods: PodSet): PodPorts =>
  Object.fromEntries(POD_NAMES.map((n) => [n, pods[n].port])) as PodPorts;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitListening(port: number, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Proxy {
  readonly name: 'portico' | 'nginx';
  httpPort: number;
  httpsPort: number;
  readonly pods: PodSet;
  /** Times the process died during the run (Portico only is restarted). */
  crashes: number;
  stderr(): string;
  alive(): boolean;
  /** Restarts the process if it died; returns whether it had died. */
  revive(): Promise<boolean>;
  stop(): Promise<void>;
}

const pem = selfSignedPair('app.example');

export async function startPortico(pods: PodSet): Promise<Proxy> {
  const script = fileURLToPath(new URL('./portico-child.mjs', import.meta.url));
  let child: ChildProcess;
  let err = '';
  let exited = false;
  const launch = async (): Promise<{ httpPort: number; httpsPort: number }> => {
    exited = false;
    const config = {
      pods: podPorts(pods),
      cert: pem,
      headersTimeout: TIMEOUT_MS,
      requestTimeout: 2 * TIMEOUT_MS,
      keepAliveTimeout: 2 * TIMEOUT_MS,
      upstreamTimeout: 2 * TIMEOUT_MS,
      maxBodyBytes: 1024 * 1024,
    };
    child = spawn(
      process.execPath,
      ['--experimental-transform-types', '--no-warnings', script, JSON.stringify(config)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000);
    });
    child.on('exit', () => {
      exited = true;
    });
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
      });
      child.once('exit', (code) => reject(new Error(`portico exited (${code}) before listening: ${err}`)));
    });
  };
  const ports = await launch();
  const proxy: Proxy = {
    name: 'portico',
    httpPort: ports.httpPort,
    httpsPort: ports.httpsPort,
    pods,
    crashes: 0,
    stderr: () => err,
    alive: () => !exited,
    async revive() {
      if (!exited) return false;
      proxy.crashes++;
      const p = await launch();
      proxy.httpPort = p.httpPort;
      proxy.httpsPort = p.httpsPort;
      return true;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await gone;
      clearTimeout(t);
    },
  };
  return proxy;
}

export function nginxBinary(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx']).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function startNginx(pods: PodSet): Promise<Proxy> {
  const bin = nginxBinary();
  if (!bin)
    throw new Error('the adversarial suite needs nginx (Debian package nginx, listed in .ci/apt-packages)');
  const dir = mkdtempSync(join(tmpdir(), 'portico-adversarial-nginx-'));
  // nginx workers may run as an unprivileged user: they need to reach the temp paths.
  chmodSync(dir, 0o755);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(dir, sub));
    chmodSync(join(dir, sub), 0o777);
  }
  writeFileSync(join(dir, 'tls.crt'), pem.cert);
  writeFileSync(join(dir, 'tls.key'), pem.key);
  const ports = { http: await freePort(), https: await freePort() };
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, podPorts(pods), ports, TIMEOUT_MS / 1000));
  const child = spawn(bin, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', () => (exited = true));
  try {
    await Promise.race([
      Promise.all([waitListening(ports.http), waitListening(ports.https)]),
      new Promise((_, reject) => child.once('exit', (c) => reject(new Error(`nginx exited (${c}): ${err}`)))),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    name: 'nginx',
    httpPort: ports.http,
    httpsPort: ports.https,
    pods,
    crashes: 0,
    stderr: () =>
      err +
      (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').slice(-5000) : ''),
    alive: () => !exited,
    revive: async () => false,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await gone;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
