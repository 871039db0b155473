/**
 * HTTPRoute RequestMirror: a copy of the request, as the backend receives it (after the request
 * filters), sent to the mirror backend and its answer thrown away. Fire-and-forget: the main
 * request never waits for the copy, and a copy that fails is only counted. A body is copied up to
 * MIRROR_BODY_BYTES; a larger one is not mirrored at all (a cut body would be a different request).
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Counter, type Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { upstreamHeaders } from '../headers.js';
import { peerOf, type Proxy } from '../proxy.js';
import type { Backend } from '../router.js';

export const MIRROR_BODY_BYTES = 64 * 1024;
const METRIC = 'portico_gateway_mirrored_requests_total';

export type MirrorResult = 'sent' | 'failed' | 'body_too_large' | 'no_endpoint';

export class RequestMirror {
  private readonly counter: Counter<'result'> | undefined;

  constructor(
    private readonly proxy: Proxy,
    registry?: Registry,
  ) {
    // One counter per registry, whichever proxy of the process creates it first.
    this.counter = registry
      ? ((registry.getSingleMetric(METRIC) as Counter<'result'> | undefined) ??
        new Counter({
          name: METRIC,
          help: 'Requests copied by HTTPRoute RequestMirror filters, by result (sent, failed, body_too_large, no_endpoint)',
          labelNames: ['result'],
          registers: [registry],
        }))
      : undefined;
  }

  /** Copies `req` (headers as they are now, `path`) to each backend; returns at once. */
  copy(req: IncomingMessage, proto: 'http' | 'https', rawHost: string, path: string, to: Backend[]): void {
    const peer = peerOf(req);
    const headers = upstreamHeaders(
      req.rawHeaders,
      req.headers,
      { address: peer.remoteAddress ?? '', proto, port: peer.localPort ?? 0, host: rawHost },
      false,
      false,
      this.proxy.trusted,
    );
    const send = (body: Buffer | null): void => {
      for (const backend of to) this.send(backend, req.method ?? 'GET', path, headers, body);
    };
    if (!hasBody(req)) return send(null);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MIRROR_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        req.off('data', onData);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (over) for (let i = 0; i < to.length; i++) this.count('body_too_large');
      else send(Buffer.concat(chunks));
    });
  }

  private send(backend: Backend, method: string, path: string, headers: string[], body: Buffer | null): void {
    const endpoint = this.proxy.balancer.pick(backend.key, backend.endpoints, undefined);
    if (!endpoint) return this.count('no_endpoint');
    const opts = this.proxy.options;
    this.proxy.upstreams
      .get(endpoint.origin)
      .request({
        path,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: opts.upstreamHeadersTimeout,
        bodyTimeout: opts.upstreamBodyTimeout,
      })
      .then(
        async (answer) => {
          await answer.body.dump();
          this.count('sent');
        },
        (err: unknown) => {
          this.count('failed');
          opts.log?.debug({ err: String(err), backend: backend.key }, 'mirrored request failed');
        },
      );
  }

  private count(result: MirrorResult): void {
    this.counter?.inc({ result });
  }
}

function hasBody(req: IncomingMessage): boolean {
  const stream = (req as unknown as Partial<Http2ServerRequest>).stream;
  if (stream) return !stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
