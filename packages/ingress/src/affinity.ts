/**
 * Cookie affinity at request time (annotations/affinity.ts): the endpoint the client's cookie
 * names, while it is in the table and not ejected; otherwise the balancer's pick, and a cookie
 * naming it. Cookie values are HMACs of the endpoint address under the route's key (the Ingress's
 * uid), so they do not reveal pod addresses, and every worker and replica computes the same ones.
 */
import { createHmac } from 'node:crypto';
import type { CookieAffinity } from './annotations/index.js';
import type { Balancer } from './balancer.js';
import { cookieValue } from './cookies.js';
import type { Backend, RoutedEndpoint } from './router.js';

export interface StickyChoice {
  readonly endpoint: RoutedEndpoint | undefined;
  /** A Set-Cookie value for the response, when the client gets a new cookie. */
  readonly setCookie?: string;
}

/** Cookie value -> endpoint, per backend of the current table and key (computed on first use). */
const ids = new WeakMap<Backend, Map<string, Map<string, RoutedEndpoint>>>();
/** Endpoint -> cookie value, the other way. */
const values = new WeakMap<RoutedEndpoint, Map<string, string>>();

function idsOf(backend: Backend, key: string): Map<string, RoutedEndpoint> {
  let byKey = ids.get(backend);
  if (!byKey) ids.set(backend, (byKey = new Map()));
  let map = byKey.get(key);
  if (!map) {
    map = new Map();
    for (const e of backend.endpoints) map.set(valueOf(e, key), e);
    byKey.set(key, map);
  }
  return map;
}

function valueOf(endpoint: RoutedEndpoint, key: string): string {
  let byKey = values.get(endpoint);
  if (!byKey) values.set(endpoint, (byKey = new Map()));
  let value = byKey.get(key);
  if (value === undefined) {
    value = createHmac('sha256', key)
      .update(`${endpoint.address}|${endpoint.port}`)
      .digest('hex')
      .slice(0, 32);
    byKey.set(key, value);
  }
  return value;
}

export function stickyPick(
  balancer: Balancer,
  backend: Backend,
  affinity: CookieAffinity,
  cookieHeader: string | undefined,
  secure: boolean,
  avoid?: RoutedEndpoint,
): StickyChoice {
  const key = affinity.key ?? '';
  const wanted = cookieValue(cookieHeader, affinity.name);
  if (wanted !== undefined) {
    const endpoint = idsOf(backend, key).get(wanted);
    if (endpoint && endpoint !== avoid && !balancer.isEjected(endpoint.origin)) return { endpoint };
  }
  const endpoint = balancer.pick(backend.key, backend.endpoints, avoid);
  if (!endpoint) return { endpoint };
  return { endpoint, setCookie: setCookie(affinity, valueOf(endpoint, key), secure) };
}

/** The Set-Cookie value: HttpOnly always (as ingress-nginx), Secure when asked or over HTTPS. */
export function setCookie(affinity: CookieAffinity, value: string, secure: boolean): string {
  let text = `${affinity.name}=${value}; Path=${affinity.path ?? '/'}`;
  if (affinity.domain !== undefined) text += `; Domain=${affinity.domain}`;
  if (affinity.expires !== undefined)
    text += `; Expires=${new Date(Date.now() + affinity.expires * 1000).toUTCString()}`;
  if (affinity.maxAge !== undefined) text += `; Max-Age=${affinity.maxAge}`;
  if (affinity.secure || secure) text += '; Secure';
  text += '; HttpOnly';
  if (affinity.sameSite !== undefined) text += `; SameSite=${affinity.sameSite}`;
  return text;
}
