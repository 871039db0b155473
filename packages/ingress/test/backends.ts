/** Real backend processes for integration tests: node:http echo servers on loopback. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compile, type ClusterState, type RouteTable } from '@portico/ingress';
import { ingressClass, service, slice } from './fixtures.js';

export interface Echo {
  name: string;
  port: number;
  server: http.Server;
  /** Requests seen, in order. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; httpVersion: string }[];
}

/**
 * An echo backend: replies JSON describing the request (no Server header, like Go net/http).
 * `/slow?ms=N` waits before answering, `/body` echoes the request body, upgrades echo raw bytes.
 */
export async function startEcho(name: string): Promise<Echo> {
  const seen: Echo['seen'] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, httpVersion: req.httpVersion });
    if (req.url?.startsWith('/body')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    const slow = /^\/slow\?ms=(\d+)/.exec(req.url ?? '');
    const reply = () => {
      const body = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        httpVersion: req.httpVersion,
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'keep-alive, x-hop',
        'x-hop': 'must not leak',
        'keep-alive': 'timeout=5',
      });
      res.end(body);
    };
    req.resume();
    if (slow) setTimeout(reply, Number(slow[1]));
    else reply();
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, httpVersion: req.httpVersion });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { name, port: (server.address() as AddressInfo).port, server, seen };
}

export async function stopAll(echos: Echo[]): Promise<void> {
  await Promise.all(
    echos.map(
      (e) =>
        new Promise<void>((r) => {
          e.server.closeAllConnections();
          e.server.close(() => r());
        }),
    ),
  );
}

/** Services + EndpointSlices for `svc` whose endpoints are the given loopback ports (one slice per port). */
export function loopbackService(
  svc: string,
  ports: number[],
  ready = true,
): Pick<ClusterState, 'services' | 'endpointSlices'> {
  return {
    services: [service(svc, 80, 'http')],
    endpointSlices: ports.map((p, i) =>
      slice(svc, p, [{ ip: '127.0.0.1', ready }], 'http', 'default', `${svc}-${i}`),
    ),
  };
}

export function table(parts: Partial<ClusterState>[], version = 1): RouteTable {
  const all = <K extends keyof ClusterState>(k: K): ClusterState[K][number][] =>
    parts.flatMap((p) => [...((p[k] ?? []) as ClusterState[K][number][])]);
  const state: ClusterState = {
    ingresses: all('ingresses'),
    classes: [ingressClass('portico'), ...all('classes')],
    services: all('services'),
    endpointSlices: all('endpointSlices'),
    secrets: all('secrets'),
  };
  return compile(state, { version });
}
