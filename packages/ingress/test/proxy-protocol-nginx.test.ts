/**
 * PROXY protocol headers against nginx 1.22 (`listen … proxy_protocol`) as the reference: the same
 * bytes to both, then the outcome compared (closed without an answer, or served). Where nginx is more
 * lenient than the spec, the difference is listed, not hidden.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeV2, IngressServer, V2_SIGNATURE } from '@portico/ingress';
import { freePort } from './adversarial/harness.js';
import { startReferenceNginx } from './reference-nginx.js';
import { ingress, rule } from './fixtures.js';
import { loopbackService, startEcho, stopAll, table, type Echo } from './backends.js';

let nginx: ChildProcess | undefined;
let dir = '';
let nginxPort = 0;
let porticoPort = 0;
let server: IngressServer;
let echo: Echo;

type Outcome = 'served' | 'closed' | 'other';

/** Sends `bytes` and classifies the answer. */
function outcome(port: number, bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => sock.destroy(), 3_000);
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(text === '' ? 'closed' : /^HTTP\/1\.1 200/.test(text) ? 'served' : 'other');
    });
    sock.write(bytes);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portico-pp-nginx-'));
  nginxPort = await freePort();
  nginx = await startReferenceNginx(
    dir,
    `server { listen 127.0.0.1:${nginxPort} proxy_protocol; location / { return 200 "ok\\n"; } }`,
    [nginxPort],
  );
  echo = await startEcho('echo');
  server = new IngressServer({
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    proxyProtocol: { http: true, https: false },
  });
  server.setTable(
    table([
      loopbackService('echo', [echo.port]),
      { ingresses: [ingress('pp', { rules: [rule(undefined, { path: '/', svc: 'echo' })] })] },
    ]),
  );
  ({ httpPort: porticoPort } = await server.listen());
});

afterAll(async () => {
  nginx?.kill('SIGQUIT');
  await server?.close();
  if (echo) await stopAll([echo]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const GET = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const v1 = (line: string): Buffer => Buffer.from(line + GET, 'latin1');
const v2 = (head: number[], body: number[]): Buffer =>
  Buffer.concat([V2_SIGNATURE, Buffer.from(head), Buffer.from(body), Buffer.from(GET)]);
const addresses = [203, 0, 113, 7, 10, 0, 0, 1, 0x9c, 0x40, 0, 80];

describe('same outcome as nginx', () => {
  it.each([
    ['valid v1 TCP4', v1('PROXY TCP4 203.0.113.7 10.0.0.1 40000 80\r\n'), 'served'],
    ['valid v1 TCP6', v1('PROXY TCP6 2001:db8::7 2001:db8::1 40000 80\r\n'), 'served'],
    ['v1 UNKNOWN', v1('PROXY UNKNOWN\r\n'), 'served'],
    ['valid v2', Buffer.concat([encodeV2(undefined), Buffer.from(GET)]), 'served'],
    ['valid v2 with addresses', v2([0x21, 0x11, 0, 12], addresses), 'served'],
    ['no header', Buffer.from(GET), 'closed'],
    ['v1 port over 65535', v1('PROXY TCP4 203.0.113.7 10.0.0.1 40000 99999\r\n'), 'closed'],
    ['v1 ended by LF alone', v1('PROXY TCP4 203.0.113.7 10.0.0.1 40000 80\n'), 'closed'],
    ['v1 without ports', v1('PROXY TCP4 203.0.113.7 10.0.0.1\r\n'), 'closed'],
    ['v2 version 3', v2([0x31, 0x11, 0, 12], addresses), 'closed'],
    ['v2 IPv4 block too short', v2([0x21, 0x11, 0, 8], addresses.slice(0, 8)), 'closed'],
  ] as [string, Buffer, Outcome][])('%s: %s', async (_name, bytes, expected) => {
    const [ours, theirs] = await Promise.all([outcome(porticoPort, bytes), outcome(nginxPort, bytes)]);
    expect({ nginx: theirs, portico: ours }).toEqual({ nginx: expected, portico: expected });
  });
});

describe('stricter than nginx (the spec, not nginx, decides)', () => {
  it.each([
    ['v1 address with a leading zero', v1('PROXY TCP4 203.0.113.007 10.0.0.1 40000 80\r\n')],
    ['v1 port with a leading zero', v1('PROXY TCP4 203.0.113.7 10.0.0.1 040000 80\r\n')],
    ['v1 TCP6 with IPv4 addresses', v1('PROXY TCP6 203.0.113.7 10.0.0.1 40000 80\r\n')],
    ['v1 UNKNOWN line over 107 bytes', v1(`PROXY UNKNOWN ${'a'.repeat(120)}\r\n`)],
    ['v2 TLV running past the header', v2([0x21, 0x11, 0, 16], [...addresses, 0x04, 0x00, 0x09, 0])],
  ])('%s: nginx serves it, we close', async (_name, bytes) => {
    const [ours, theirs] = await Promise.all([outcome(porticoPort, bytes), outcome(nginxPort, bytes)]);
    expect({ nginx: theirs, portico: ours }).toEqual({ nginx: 'served', portico: 'closed' });
  });
});
