/**
 * auth-keepalive* against nginx 1.22's upstream keep-alive as the reference (what ingress-nginx
 * writes for them: an upstream block with `keepalive`, `keepalive_requests`, `keepalive_timeout`,
 * proxied with HTTP/1.1 and an empty Connection header): the same subrequests through nginx and
 * through Portico's forward auth, each to an auth server of its own that counts the connections it
 * gets and how many stay open. The counts must be the same.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForwardAuth, type AuthRequest, type ForwardAuthPolicy } from '@portico/ingress';
import { freePort } from './adversarial/harness.js';
import { startReferenceNginx } from './reference-nginx.js';

/** An auth server that answers 200 (after `?delay=` ms) and keeps its connections for counting. */
interface CountingAuth {
  readonly server: http.Server;
  readonly sockets: Socket[];
  readonly port: number;
}

async function countingAuth(): Promise<CountingAuth> {
  const sockets: Socket[] = [];
  const server = http.createServer((req, res) => {
    const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => res.writeHead(200).end('ok'), delay);
  });
  // Long enough that only the client decides when a connection closes.
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, sockets, port: (server.address() as AddressInfo).port };
}

const KEEPALIVE = { connections: 2, requests: 3, timeoutSeconds: 1 };
let dir = '';
let nginxProcess: ChildProcess | undefined;
let nginxPort = 0;
let forNginx: CountingAuth;
let forPortico: CountingAuth;
const fa = new ForwardAuth();

beforeAll(async () => {
  forNginx = await countingAuth();
  forPortico = await countingAuth();
  dir = mkdtempSync(join(tmpdir(), 'portico-auth-keepalive-nginx-'));
  nginxPort = await freePort();
  nginxProcess = await startReferenceNginx(
    dir,
    `upstream auth {
    server 127.0.0.1:${forNginx.port};
    keepalive ${KEEPALIVE.connections};
    keepalive_requests ${KEEPALIVE.requests};
    keepalive_timeout ${KEEPALIVE.timeoutSeconds}s;
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://auth; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    [nginxPort],
  );
});

afterAll(async () => {
  nginxProcess?.kill('SIGQUIT');
  await fa.close();
  for (const a of [forNginx, forPortico]) {
    a?.server.closeAllConnections();
    a?.server.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One subrequest through nginx (a fresh client connection each time: only the upstream side is kept). */
function throughNginx(query: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port: nginxPort, path: `/auth${query}`, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject),
  );
}

const request: AuthRequest = {
  method: 'GET',
  scheme: 'http',
  host: 'a.example.com',
  uri: '/',
  rawHeaders: [],
  client: '192.0.2.1',
  requestId: 'r',
};

async function throughPortico(query: string): Promise<number> {
  const policy: ForwardAuthPolicy = {
    url: `http://127.0.0.1:${forPortico.port}/auth${query}`,
    keepalive: { ...KEEPALIVE, shareVars: false },
  };
  const outcome = await fa.check(policy, request);
  return outcome.allowed ? 200 : outcome.status;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `steps` against both; the connections each auth server got and how many are open after. */
async function both(steps: (send: (query: string) => Promise<number>) => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, auth, send] of [
    ['nginx', forNginx, throughNginx],
    ['portico', forPortico, throughPortico],
  ] as const) {
    // Start with no kept connection: those of the test before close within keepalive_timeout.
    for (let i = 0; i < 60 && auth.sockets.some((s) => !s.destroyed); i++) await settle(50);
    const first = auth.sockets.length;
    await steps(send);
    await settle(150);
    const mine = auth.sockets.slice(first);
    out.push(`${name}: ${mine.length} opened, ${mine.filter((s) => !s.destroyed).length} open`);
  }
  return out;
}

it('keepalive_requests 3: 7 subrequests one after another take 3 connections, 1 left open', async () => {
  expect(
    await both(async (send) => {
      for (let i = 0; i < 7; i++) expect(await send('')).toBe(200);
    }),
  ).toEqual(['nginx: 3 opened, 1 open', 'portico: 3 opened, 1 open']);
});

it('keepalive 2: 5 subrequests at once take 5 connections, 2 kept idle', async () => {
  expect(
    await both(async (send) => {
      const statuses = await Promise.all([1, 2, 3, 4, 5].map(() => send('?delay=200')));
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
    }),
  ).toEqual(['nginx: 5 opened, 2 open', 'portico: 5 opened, 2 open']);
});

it('keepalive_timeout 1s: an idle connection is closed after a second', async () => {
  expect(
    await both(async (send) => {
      expect(await send('')).toBe(200);
      await settle(1300);
    }),
  ).toEqual(['nginx: 1 opened, 0 open', 'portico: 1 opened, 0 open']);
});
