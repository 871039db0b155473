/**
 * TLS passthrough for `protocol: TLS, tls.mode: Passthrough` listeners: the ClientHello's server
 * name (client-hello.ts) picks the listener and its TLSRoute (exact hostname before the longest
 * wildcard, as for HTTP), a backend by weight and an endpoint, and the connection is spliced to the
 * endpoint byte for byte: the client's ClientHello first, then both directions. TLS is never
 * terminated here; the client talks to the pod's certificate. A connection that sends no complete
 * ClientHello within `helloTimeoutMs`, or a malformed one, or names no served host, is closed.
 */
import net from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Proxy } from '../proxy.js';
import { readClientHello } from './client-hello.js';
import type { ServedListener } from './compile.js';
import { pickByWeight } from './gateway-proxy.js';
import { matchRoute, selectListener } from './match.js';

export type PassthroughResult =
  'routed' | 'invalid' | 'timeout' | 'no_route' | 'no_backend' | 'upstream_error';

const METRIC = 'portico_gateway_tls_passthrough_connections_total';

export class TlsPassthrough {
  private readonly counter: Counter<'result'> | undefined;

  constructor(
    private readonly proxy: Proxy,
    registry?: Registry,
    private readonly logger?: Logger,
    private readonly helloTimeoutMs = 10_000,
  ) {
    this.counter = registry
      ? ((registry.getSingleMetric(METRIC) as Counter<'result'> | undefined) ??
        new Counter({
          name: METRIC,
          help: 'Connections to TLS passthrough listeners, by result (routed, invalid, timeout, no_route, no_backend, upstream_error)',
          labelNames: ['result'],
          registers: [registry],
        }))
      : undefined;
  }

  /** A server for one port; `listeners()` gives the port's current listeners on every connection. */
  server(listeners: () => readonly ServedListener[]): net.Server {
    return net.createServer({ noDelay: true }, (socket) => this.accept(socket, listeners));
  }

  private accept(socket: net.Socket, listeners: () => readonly ServedListener[]): void {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(
      () => this.refuse(socket, 'timeout', 'no ClientHello in time'),
      this.helloTimeoutMs,
    );
    socket.once('close', () => clearTimeout(timer));
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const hello = readClientHello(seen);
      if (hello.state === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (hello.state === 'invalid') return this.refuse(socket, 'invalid', hello.reason);
      this.route(socket, seen, hello.serverName, listeners());
    };
    socket.on('data', onData);
  }

  private route(
    socket: net.Socket,
    hello: Buffer,
    serverName: string | undefined,
    listeners: readonly ServedListener[],
  ): void {
    const host = serverName ?? '';
    const listener = selectListener(listeners, host);
    const entry = listener && matchRoute(listener, { host, path: '/', method: '', headers: {}, query: '' });
    if (!entry) return this.refuse(socket, 'no_route', `no TLSRoute for server name ${JSON.stringify(host)}`);
    const key = pickByWeight(entry.rule.backends)?.backend;
    const backend = key ? this.proxy.router.backend(key) : undefined;
    const endpoint = backend && this.proxy.balancer.pick(backend.key, backend.endpoints, undefined);
    if (!backend || !endpoint)
      return this.refuse(socket, 'no_backend', `TLSRoute ${entry.route}: no usable backend endpoint`);
    const upstream = net.connect({ host: endpoint.address, port: endpoint.port, noDelay: true });
    const connectTimer = setTimeout(
      () => upstream.destroy(new Error('connect timeout')),
      this.proxy.options.upstream.connectTimeout,
    );
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      this.proxy.balancer.succeeded(endpoint.origin);
      this.count('routed');
      upstream.write(hello);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    });
    upstream.on('error', (err) => {
      clearTimeout(connectTimer);
      if (!connected) {
        this.proxy.balancer.failed(endpoint.origin);
        this.refuse(socket, 'upstream_error', `${endpoint.origin}: ${err.message}`);
      } else socket.destroy();
    });
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
  }

  private refuse(socket: net.Socket, result: PassthroughResult, why: string): void {
    this.count(result);
    this.logger?.debug({ result, why, client: socket.remoteAddress }, 'TLS passthrough connection closed');
    socket.destroy();
  }

  private count(result: PassthroughResult): void {
    this.counter?.inc({ result });
  }
}
