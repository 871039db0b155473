/**
 * The compiled routing table: plain, immutable, structured-clone-able data. The cluster primary
 * compiles it from Kubernetes objects (compile.ts) and sends it to every worker, which indexes it
 * (router.ts). Keeping it plain data is what makes a swap one IPC message and one reference store.
 */

import type { CanaryRule, RoutePolicy } from './annotations/index.js';

/** A pod address a backend forwards to. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * What a matched rule forwards to, with what its Ingress's annotations ask of it (RoutePolicy:
 * only what differs from the defaults). `backend` is null for a `resource` backend we cannot serve (503).
 */
export interface Target extends RoutePolicy {
  /** `namespace/name` of the Ingress the rule came from (metrics, logs). */
  readonly ingress: string;
  /** Key into RouteTable.backends, `namespace/service:port`. */
  readonly backend: string | null;
  /** The canary Ingress for the same host and path (annotations/canary.ts), beside this target. */
  readonly canary?: CanaryRoute;
}

/** A canary beside a main target: when a request goes to it, and where it then goes. */
export interface CanaryRoute {
  readonly rule: CanaryRule;
  /** The main target's policy with the canary Ingress's backend. */
  readonly target: Target;
}

export interface PathEntry {
  /** Exact: the rule path. Prefix: the rule path without its trailing slash ('' for '/'). */
  readonly path: string;
  readonly target: Target;
}

/** All rules of one host (exact `a.b.c`, wildcard `*.b.c`, or '' for host-less rules). */
export interface HostTable {
  readonly host: string;
  readonly exact: readonly PathEntry[];
  readonly prefix: readonly PathEntry[];
  /**
   * Present when the host's paths are regexes (use-regex, or a rewrite-target, on any of its
   * Ingresses: annotations/rewrite.ts): every path as a pattern, longest first, tried in order
   * (ingress-nginx's `~*` locations); `exact` and `prefix` are then empty.
   */
  readonly regex?: readonly PathEntry[];
  /** Where a request for this host goes when no path matches (its Ingress's defaultBackend). */
  readonly fallback: Target | null;
}

export interface BackendEntry {
  readonly key: string;
  /** Ready endpoints only; empty means 503. */
  readonly endpoints: readonly Endpoint[];
  /** How the pods are spoken to: HTTP/1.1 (absent), or cleartext HTTP/2 with prior knowledge. */
  readonly protocol?: UpstreamProtocol;
}

/** `h2c`: a Service port with appProtocol kubernetes.io/h2c (Gateway API backends). */
export type UpstreamProtocol = 'h2c';

export interface CertEntry {
  /** Exact host or `*.suffix`. */
  readonly host: string;
  /** `namespace/name@resourceVersion`: identifies the PEM pair so workers can cache the context. */
  readonly id: string;
  readonly cert: string;
  readonly key: string;
  /**
   * CA certificates (PEM) the host's handshakes ask a client certificate of and verify it against
   * (annotations/client-tls.ts); `id` then names the CA Secret too, so a changed CA is a new context.
   */
  readonly clientCa?: string;
  /** Revocation lists (PEM) of the client CA Secret's `ca.crl`, checked in those handshakes. */
  readonly clientCrl?: string;
}

export interface RouteTable {
  readonly version: number;
  readonly hosts: readonly HostTable[];
  /** The cluster-wide default backend: the oldest Ingress with a defaultBackend and no rules. */
  readonly catchAll: Target | null;
  readonly backends: readonly BackendEntry[];
  readonly certs: readonly CertEntry[];
  /** Hosts (exact or `*.suffix`) listed under spec.tls: plain HTTP for them is redirected (308). */
  readonly tlsHosts: readonly string[];
  /** `namespace/name` of every Ingress this controller serves (they get our status). */
  readonly served: readonly string[];
  /** Human-readable problems found while compiling (missing Service, bad Secret, conflicts). */
  readonly problems: readonly string[];
}

export const emptyTable: RouteTable = {
  version: 0,
  hosts: [],
  catchAll: null,
  backends: [],
  certs: [],
  tlsHosts: [],
  served: [],
  problems: [],
};

/** Every target a request to the table can reach: the rules' and fallbacks', and their canaries'. */
export function* targetsOf(table: RouteTable): Generator<Target> {
  const withCanary = function* (t: Target | null): Generator<Target> {
    if (t === null) return;
    yield t;
    if (t.canary !== undefined) yield t.canary.target;
  };
  yield* withCanary(table.catchAll);
  for (const h of table.hosts) {
    yield* withCanary(h.fallback);
    for (const e of [...h.exact, ...h.prefix, ...(h.regex ?? [])]) yield* withCanary(e.target);
  }
}
