/** Routes one request through a compiled Gateway model, as the data plane decides it (tests only). */
import { normalizeHost } from '../../src/router.js';
import { matchRoute, selectListener, type GatewayCompiled } from '../../src/gateway/index.js';

/** The address the conformance suite would use as Host when a request names none. */
export const GATEWAY_IP = '192.0.2.10';

export type Answer = { backend: string } | { backends: string[] } | { status: number };

export function answer(
  compiled: GatewayCompiled,
  gateway: string,
  port: number,
  request: { host?: string; path: string; method?: string; headers?: Record<string, string>; query?: string },
): Answer {
  const host = normalizeHost(request.host ?? GATEWAY_IP);
  const listeners = compiled.listeners.filter((l) => l.gateway === gateway && l.port === port);
  const listener = selectListener(listeners, host);
  if (!listener) return { status: 404 };
  const q = request.path.indexOf('?');
  const entry = matchRoute(listener, {
    host,
    path: q < 0 ? request.path : request.path.slice(0, q),
    query: q < 0 ? (request.query ?? '') : request.path.slice(q + 1),
    method: request.method ?? 'GET',
    headers: request.headers ?? {},
  });
  if (!entry) return { status: 404 };
  const live = entry.rule.backends.filter((b) => b.weight > 0);
  if (live.length === 0 || live.every((b) => b.backend === null)) return { status: 500 };
  const services = live.map((b) =>
    b.backend === null ? '500' : b.backend.slice(0, b.backend.lastIndexOf(':')),
  );
  return services.length === 1 ? { backend: services[0]! } : { backends: services };
}
