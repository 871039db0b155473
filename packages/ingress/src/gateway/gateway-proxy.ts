/**
 * The proxy for Gateway listeners: the Ingress proxy's forwarding (pools, retries, timeouts, body
 * limits, access log and metrics) with Gateway routing in place of Ingress routing. A request is
 * routed by the port it arrived on (the listener's port), its host, path, method, headers and
 * query (match.ts), and sent to one of the matched rule's backends by weight; a backendRef that
 * cannot be used answers 500, as the spec requires.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Proxy, type Decision } from '../proxy.js';
import { normalizeHost } from '../router.js';
import { normalizeTarget } from '../paths.js';
import type { ServedListener } from './compile.js';
import { matchRoute, selectListener } from './match.js';
import type { WeightedBackend } from './route-rules.js';

export class GatewayProxy extends Proxy {
  private byPort = new Map<number, ServedListener[]>();
  /** The request being decided: decide() is called synchronously from handle(). */
  private request: IncomingMessage | undefined;

  setListeners(listeners: readonly ServedListener[]): void {
    const byPort = new Map<number, ServedListener[]>();
    for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
    this.byPort = byPort;
  }

  override handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https'): void {
    this.request = req;
    try {
      super.handle(req, res, proto);
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
    const req = this.request;
    const normalized = normalizeTarget(target);
    if (normalized === undefined || !req || !VALID_HOST.test(rawHost)) {
      this.countConnectionError(plane, normalized === undefined ? 'path' : 'malformed');
      return { status: 400 };
    }
    const host = normalizeHost(rawHost);
    const listener = selectListener(this.byPort.get(req.socket.localPort ?? 0) ?? [], host);
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
    const chosen = pickByWeight(entry.rule.backends);
    const routeTarget = { ingress: entry.route, backend: chosen?.backend ?? null };
    if (!chosen || chosen.backend === null) return { status: 500, target: routeTarget };
    const backend = this.router.backend(chosen.backend);
    if (!backend || backend.endpoints.length === 0) return { status: 503, target: routeTarget };
    if (contentLength > this.options.maxBodyBytes) return { status: 413, target: routeTarget };
    return { status: 0, target: routeTarget, backend, path: normalized };
  }
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
