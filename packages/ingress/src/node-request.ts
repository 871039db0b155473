/**
 * What the Node data plane reads off Node's request objects (IncomingMessage, HTTP/1 or HTTP/2):
 * the peer, the client hop for X-Forwarded-*, the view route policies get, the access-log fields.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { StickyChoice } from './affinity.js';
import type { CookieAffinity } from './annotations/index.js';
import type { AccessInfo, IngressCore } from './core.js';
import type { ClientHop } from './headers.js';
import type { RequestView } from './route-policy.js';
import type { Backend, RoutedEndpoint } from './router.js';

export function hopOf(req: IncomingMessage, proto: 'http' | 'https', host: string): ClientHop {
  const peer = peerOf(req);
  return { address: peer.remoteAddress ?? '', proto, port: peer.localPort ?? 0, host };
}

/**
 * The connection's addresses. An HTTP/2 session behind the request guard runs on Node's wrapper for
 * a JavaScript stream (a net.Socket without a handle of its own, so without addresses); the stream
 * it wraps, its `stream`, is the TLS listener's stand-in, which carries the TLS socket's addresses.
 */
export function peerOf(req: IncomingMessage): {
  remoteAddress?: string | undefined;
  localPort?: number | undefined;
} {
  const socket = req.socket as IncomingMessage['socket'] & {
    stream?: { remoteAddress?: string; localPort?: number };
  };
  return socket.remoteAddress === undefined && socket.stream ? socket.stream : socket;
}

export const joined = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v;

/** A Node-path request as route policies see it (route-policy.ts). */
export function requestView(req: IncomingMessage): RequestView {
  return {
    method: req.method ?? 'GET',
    peer: peerOf(req).remoteAddress ?? '',
    header: (name) => joined(req.headers[name]),
  };
}

export function accessOf(
  req: IncomingMessage,
  requestId?: string,
  bytes?: number,
  upstreamMs?: number,
): AccessInfo {
  return {
    method: req.method,
    host: req.headers.host ?? (req.headers[':authority'] as string | undefined),
    path: req.url,
    client: peerOf(req).remoteAddress,
    forwardedFor: joined(req.headers['x-forwarded-for']),
    requestId,
    protocol: `HTTP/${req.httpVersion}`,
    bytes,
    upstreamMs,
    referer: req.headers.referer,
    userAgent: req.headers['user-agent'],
  };
}

/** A flat [name, value, …] list as an object for Node's writeHead. */
export function headerObject(
  flat: readonly string[] | undefined,
  into: OutgoingHttpHeaders = {},
): OutgoingHttpHeaders {
  if (flat) for (let i = 0; i < flat.length; i += 2) into[flat[i]!] = flat[i + 1]!;
  return into;
}

/** An HTTP/2 stream (Node's compatibility API), as opposed to an HTTP/1 request of any version. */
export function isHttp2(req: IncomingMessage): boolean {
  return (req as unknown as Partial<Http2ServerRequest>).stream !== undefined;
}

/**
 * The endpoint for a request on the Node data plane: the balancer's pick, or with cookie affinity
 * (affinity.ts) the one the client's cookie names, or a new one and the Set-Cookie for it.
 */
export function pickEndpoint(
  core: IngressCore,
  backend: Backend,
  affinity: CookieAffinity | undefined,
  req: IncomingMessage,
  avoid: RoutedEndpoint | undefined,
): StickyChoice {
  if (affinity === undefined) return { endpoint: core.balancer.pick(backend.key, backend.endpoints, avoid) };
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  return core.stickyPick(backend, affinity, joined(req.headers.cookie), secure, avoid);
}
