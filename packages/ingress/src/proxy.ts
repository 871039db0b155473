/**
 * The Ingress proxy as server.ts runs it: the ingress core (core.ts) wired to the Node data plane
 * (node-data-plane.ts), with the entry points Node's servers call. The fast path (http1/) is handed
 * the same object as a core. A subclass may route differently (gateway/gateway-proxy.ts overrides
 * decide, handle and upgrade); everything else is the core's or a data plane's.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Duplex } from 'node:stream';
import { IngressCore } from './core.js';
import type { BodyWatch } from './limits.js';
import { NodeDataPlane } from './node-data-plane.js';
import type { Target } from './table.js';

export { defaultProxyOptions } from './core.js';
export type {
  AccessInfo,
  ConnectionErrorReason,
  Deadlines,
  Decision,
  LocalStatus,
  ProxyOptions,
} from './core.js';
export { rawResponse } from './node-data-plane.js';
export { headerObject, peerOf } from './node-request.js';
export { STATUS_TEXT } from './status-text.js';

export class Proxy extends IngressCore {
  /** Node's HTTP/1 and HTTP/2 servers' requests, handed this core. */
  readonly node = new NodeDataPlane(this);

  /** Request bodies in flight on the Node path, held to their deadlines (server.ts sets the limits). */
  get bodies(): BodyWatch {
    return this.node.bodies;
  }

  /**
   * The Node path's entry point for a request: handle(), guarded. An exception closes that
   * request's connection (HTTP/1) or stream (HTTP/2), is counted and logged, and goes no further.
   */
  serve(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    // 'aborted' and similar after the client left: nothing to do, and without a listener the
    // emitter would throw it out of the process.
    req.on('error', ignore);
    try {
      this.handle(req, res, proto);
    } catch (err) {
      this.connectionException('node', err, () => {
        const stream = (req as unknown as Partial<Http2ServerRequest>).stream;
        if (stream) stream.destroy();
        else req.socket.destroy();
      });
    }
  }

  /** The Node path's entry point for an Upgrade request: upgrade(), guarded as serve() is. */
  serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    req.on('error', ignore);
    try {
      this.upgrade(req, socket, head, proto);
    } catch (err) {
      this.connectionException('node', err, () => socket.destroy());
    }
  }

  handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    this.node.handle(req, res, proto);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    this.node.upgrade(req, socket, head, proto);
  }

  /** A response of our own (no upstream involved). */
  local(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    target?: Target,
    extra?: OutgoingHttpHeaders,
    close = false,
  ): void {
    this.node.local(req, res, status, target, extra, close);
  }

  clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.node.clientError(err, socket);
  }

  refuseConnect(req: IncomingMessage, socket: Duplex | ServerResponse): void {
    this.node.refuseConnect(req, socket);
  }

  refuseHttp2(req: IncomingMessage, res: ServerResponse, refusal: 'malformed' | 'too_large'): void {
    this.node.refuseHttp2(req, res, refusal);
  }
}

const ignore = (): void => undefined;
