/**
 * The proxy for Gateway listeners: the Ingress proxy's forwarding (pools, retries, timeouts, body
 * limits, access log and metrics) with Gateway routing in place of Ingress routing. A request is
 * routed by the port it arrived on (the listener's port), its host, path, method, headers and
 * query (match.ts), and sent to one of the matched rule's backends by weight; a backendRef that
 * cannot be used answers 500, as the spec requires. The rule's RequestMirror filters copy the
 * request (mirror.ts), and its timeouts (GEP-1742) bound the exchange (504). On an HTTPS port, a
 * Host that picks another listener than the TLS server name did gets 421 (misdirected below).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { peerOf, Proxy, type Decision } from '../proxy.js';
import type { Backend } from '../router.js';
import { normalizeHost } from '../router.js';
import { normalizeTarget } from '../paths.js';
import type { ServedListener } from './compile.js';
import { modifiedPath, modifyHeaderObject, modifyRawHeaders, redirectLocation } from './filters.js';
import { matchRoute, selectListener } from './match.js';
import { RequestMirror } from './mirror.js';
import type { Filter, WeightedBackend } from './route-rules.js';
import type { HeaderModifier } from './types.js';

/** The request being decided, the response header modifiers and mirrors its route asks for. */
interface InFlight {
  readonly req: IncomingMessage;
  response: HeaderModifier[];
  mirror?: { readonly rawHost: string; readonly path: string; readonly to: Backend[] };
}

export class GatewayProxy extends Proxy {
  private byPort = new Map<number, ServedListener[]>();
  private readonly mirrors = new RequestMirror(this, this.options.metrics?.registry);
  /** The request being decided: decide() is called synchronously from handle(). */
  private request: InFlight | undefined;

  setListeners(listeners: readonly ServedListener[]): void {
    const byPort = new Map<number, ServedListener[]>();
    for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
    this.byPort = byPort;
  }

  override handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    const inFlight: InFlight = { req, response: [] };
    this.request = inFlight;
    // ResponseHeaderModifier: applied to whatever answers the request (the pod, or our own page).
    const writeHead = res.writeHead.bind(res) as (
      status: number,
      headers?: OutgoingHttpHeaders,
    ) => ServerResponse;
    res.writeHead = ((status: number, headers?: OutgoingHttpHeaders) => {
      if (inFlight.response.length && headers && typeof headers === 'object' && !Array.isArray(headers))
        for (const m of inFlight.response) modifyHeaderObject(headers, m);
      return writeHead(status, headers);
    }) as typeof res.writeHead;
    try {
      super.handle(req, res, proto);
    } finally {
      this.request = undefined;
    }
    const mirror = inFlight.mirror;
    if (mirror) this.mirrors.copy(req, proto, mirror.rawHost, mirror.path, mirror.to);
  }

  override upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https'): void {
    this.request = { req, response: [] };
    try {
      super.upgrade(req, socket, head, proto);
    } finally {
      this.request = undefined;
    }
  }

  override decide(
    rawHost: string,
    target: string,
    proto: 'http' | 'https',
    contentLength: number,
    plane: 'fast' | 'node',
  ): Decision {
    const req = this.request?.req;
    const inFlight = this.request;
    const normalized = normalizeTarget(target);
    if (normalized === undefined || !req || !VALID_HOST.test(rawHost)) {
      this.countConnectionError(plane, normalized === undefined ? 'path' : 'malformed');
      return { status: 400 };
    }
    const host = normalizeHost(rawHost);
    const listeners = this.byPort.get(peerOf(req).localPort ?? 0) ?? [];
    const listener = selectListener(listeners, host);
    if (proto === 'https' && misdirected(req, listeners, listener)) return { status: 421 };
    if (!listener) return { status: 404 };
    const q = normalized.indexOf('?');
    const entry = matchRoute(listener, {
      host,
      path: q < 0 ? normalized : normalized.slice(0, q),
      query: q < 0 ? '' : normalized.slice(q + 1),
      method: req.method ?? 'GET',
      headers: headerView(req),
    });
    if (!entry) return { status: 404 };
    const matchedPrefix = entry.match.pathType === 'PathPrefix' ? entry.match.path : undefined;
    const path = q < 0 ? normalized : normalized.slice(0, q);
    const query = q < 0 ? '' : normalized.slice(q);
    const redirect = entry.rule.filters.find((f) => f.type === 'RequestRedirect');
    if (redirect) {
      inFlight!.response = responseModifiers(entry.rule.filters);
      const location = redirectLocation(redirect, {
        proto,
        host,
        listenerPort: listener.port,
        path,
        query,
        matchedPrefix,
      });
      return {
        status: redirect.statusCode as 301 | 302 | 303 | 307 | 308,
        location,
        target: { ingress: entry.route, backend: null },
      };
    }
    const chosen = pickByWeight(entry.rule.backends);
    const routeTarget = { ingress: entry.route, backend: chosen?.backend ?? null };
    const filters = [...entry.rule.filters, ...(chosen?.filters ?? [])];
    inFlight!.response = responseModifiers(filters);
    if (!chosen || chosen.backend === null) return { status: 500, target: routeTarget };
    const backend = this.router.backend(chosen.backend);
    if (!backend || backend.endpoints.length === 0) return { status: 503, target: routeTarget };
    if (contentLength > this.options.maxBodyBytes) return { status: 413, target: routeTarget };
    // Request filters change what the pod gets: its headers (the raw list the proxy forwards) and path.
    let forwardPath = path;
    for (const f of filters) {
      if (f.type === 'RequestHeaderModifier')
        replaceRaw(req.rawHeaders, modifyRawHeaders(req.rawHeaders, f.modifier));
      else if (f.type === 'URLRewrite') {
        if (f.hostname)
          replaceRaw(
            req.rawHeaders,
            modifyRawHeaders(req.rawHeaders, { set: [{ name: 'Host', value: f.hostname }] }),
          );
        forwardPath = modifiedPath(f.path, forwardPath, matchedPrefix);
      }
    }
    const mirrorTo = mirrorBackends(filters, (key) => this.router.backend(key));
    if (mirrorTo.length) inFlight!.mirror = { rawHost, path: forwardPath + query, to: mirrorTo };
    return {
      status: 0,
      target: routeTarget,
      backend,
      path: forwardPath + query,
      deadlines: entry.rule.timeouts,
    };
  }
}

/** The backends of the RequestMirror filters that pick this request (by their percent). */
function mirrorBackends(
  filters: readonly Filter[],
  backendOf: (key: string) => Backend | undefined,
  random: () => number = Math.random,
): Backend[] {
  const out: Backend[] = [];
  for (const f of filters) {
    if (f.type !== 'RequestMirror' || f.backend === null) continue;
    if (f.percent < 100 && random() * 100 >= f.percent) continue;
    const b = backendOf(f.backend);
    if (b) out.push(b);
  }
  return out;
}

function responseModifiers(filters: readonly Filter[]): HeaderModifier[] {
  return filters.flatMap((f) => (f.type === 'ResponseHeaderModifier' ? [f.modifier] : []));
}

function replaceRaw(raw: string[], next: string[]): void {
  raw.splice(0, raw.length, ...next);
}

/** Same rule as the Ingress proxy: a Host that is no authority is refused. */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::\d{0,5})?$/;

function headerView(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    out[name] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

/** A backend chosen with probability proportional to its weight; undefined when all weigh 0. */
export function pickByWeight(
  backends: readonly WeightedBackend[],
  random: () => number = Math.random,
): WeightedBackend | undefined {
  let total = 0;
  for (const b of backends) total += b.weight;
  if (total <= 0) return undefined;
  let r = random() * total;
  for (const b of backends) {
    r -= b.weight;
    if (r < 0 && b.weight > 0) return b;
  }
  return backends.findLast((b) => b.weight > 0);
}

/**
 * An HTTPS request whose Host picks another listener of the port than its TLS server name (SNI)
 * picked: the connection was made for another listener (its certificate, its routes), so the
 * request is answered 421 Misdirected Request (RFC 9110 §15.5.20) and the client may retry on a
 * connection of its own for that host (feature GatewayHTTPSListenerDetectMisdirectedRequests).
 * Without SNI, or when the name matches no listener, nothing is compared.
 */
function misdirected(
  req: IncomingMessage,
  listeners: readonly ServedListener[],
  byHost: ServedListener | undefined,
): boolean {
  // HTTP/2 sessions run on a stand-in for the TLS socket (http2/guarded-server.ts), which Node
  // wraps: the name is on the wrapped stream, as peerOf finds the port there.
  const socket = req.socket as { servername?: string | false; stream?: { servername?: string | false } };
  const servername = socket.servername ?? socket.stream?.servername;
  if (!servername) return false;
  const bySni = selectListener(listeners, servername.toLowerCase());
  return bySni !== undefined && bySni !== byHost;
}
