/**
 * Hostname rules of the Gateway API (spec: Listener.hostname, HTTPRoute.hostnames): a wildcard
 * `*.example.com` matches one or more leading labels (`a.example.com`, `a.b.example.com`, never
 * `example.com`) — unlike Ingress, where it matches exactly one. A route attaches to a listener only
 * where their hostnames intersect, and serves the intersection.
 */

/** Whether a (lower-case, port-less) request host matches a hostname pattern. */
export function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1); // `.example.com`
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Whether every host matched by `narrow` is matched by `wide` (both patterns). */
function covers(wide: string, narrow: string): boolean {
  if (!wide.startsWith('*.')) return wide === narrow;
  if (!narrow.startsWith('*.')) return hostMatches(wide, narrow);
  return narrow === wide || narrow.endsWith(wide.slice(1));
}

/**
 * The hostnames a route serves through a listener: undefined means every host. An empty array means
 * the two do not intersect (the route cannot attach to this listener).
 */
export function intersectHostnames(
  listener: string | undefined,
  route: readonly string[] | undefined,
): string[] | undefined {
  const routeHosts = (route ?? []).map((h) => h.toLowerCase());
  if (!listener) return routeHosts.length ? dedupe(routeHosts) : undefined;
  const l = listener.toLowerCase();
  if (routeHosts.length === 0) return [l];
  const out: string[] = [];
  for (const r of routeHosts) {
    if (covers(l, r)) out.push(r);
    else if (covers(r, l)) out.push(l);
  }
  return dedupe(out);
}

function dedupe(hosts: string[]): string[] {
  return [...new Set(hosts)];
}
