// `portico ingress --workers 1 --no-access-log` against a real kube-apiserver: the proxy's own
// lines (here a refused PROXY header, logged at debug) come from the worker process, on the
// command's stdout, with the access log switched off (ProxyOptions.log, workers.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApiServer, type TestApiServer } from '@portico/dev-kube-apiserver';
import { freePort, until } from './kit.js';

const cli = fileURLToPath(new URL('../bin/portico.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'portico-worker-log-'));
let api: TestApiServer | undefined;
let child: ChildProcess | undefined;
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('portico ingress in worker processes', () => {
  it('logs what the proxy refuses from a worker with the access log off', async () => {
    api = await startTestApiServer('kube-apiserver');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfig());
    const [http, https, metrics] = [await freePort(), await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [
        cli,
        'ingress',
        '--kubeconfig',
        kubeconfig,
        '--workers',
        '1',
        '--listen-address',
        '127.0.0.1',
        '--http-port',
        String(http),
        '--https-port',
        String(https),
        '--metrics-port',
        String(metrics),
        '--proxy-protocol',
        String(http),
        '--no-access-log',
        '--no-leader-elect',
        '--shutdown-delay',
        '0',
        '--shutdown-grace',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'debug' } },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    await until(
      'readiness',
      async () => ((await fetch(`http://127.0.0.1:${metrics}/readyz`)).status === 200 ? true : undefined),
      30_000,
    );

    // A request where the PROXY header should be: the worker closes the connection.
    const socket = connect(http, '127.0.0.1');
    socket.resume();
    socket.write('GET / HTTP/1.1\r\nHost: a.example\r\n\r\n');
    await once(socket, 'close');

    const line = await until('the refusal line', async () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'PROXY protocol header refused'),
    );
    expect(line).toMatchObject({ level: 20, component: 'ingress', worker: 1, peer: '127.0.0.1' });
    expect(typeof line.reason).toBe('string');
    // The access log is off: no request line was written.
    expect(out).not.toMatch(/"status":/);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 90_000);
});
