/**
 * The route compiler: Kubernetes objects in, an immutable RouteTable out. Pure: no I/O, no clock.
 *
 * Ingresses are processed oldest first (creationTimestamp, then namespace/name), so every conflict
 * (same host + path, same TLS host, several catch-all default backends) is won by the oldest Ingress,
 * which is what ingress-nginx users rely on (reference §1.4).
 *
 * What cannot be honoured (a missing Service or Secret, a lost conflict…) is returned as structured
 * problems (problems.ts) naming the field and the value; everything else is still served.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressBackend,
  V1IngressServiceBackend,
  V1IngressClass,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { backendKey, indexServices, resolveBackend, type ServiceIndex } from './backends.js';
import { classFilter, CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './classes.js';
import { formatProblem, type IngressProblem, type ProblemReason } from './problems.js';
import { createSecureContext } from 'node:tls';
import { crlBlocks } from './certs.js';
import {
  asksClientCertificate,
  NGINX_PREFIX,
  readIngressAnnotations,
  regexMode,
  regexPathProblem,
  resolveBasicAuth,
  type CanaryRule,
  type ClientTlsPolicy,
  type ProxySsl,
} from './annotations/index.js';
import type { BackendEntry, CertEntry, Endpoint, HostTable, PathEntry, RouteTable, Target } from './table.js';

export * from './problems.js';

export interface ClusterState {
  readonly ingresses: readonly V1Ingress[];
  readonly classes: readonly V1IngressClass[];
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly secrets: readonly V1Secret[];
}

export interface CompileOptions {
  readonly version?: number;
  readonly controller?: string;
  readonly className?: string;
}

interface HostBuilder {
  exact: Map<string, { entry: PathEntry; owner: PathOwner }>;
  /** Keyed by the normalised prefix; `raw` keeps the rule path length for the tie-break. */
  prefix: Map<string, { raw: number; entry: PathEntry; owner: PathOwner }>;
  fallback: Target | null;
  /** Which Ingress's defaultBackend `fallback` is. */
  fallbackOwner?: Owner;
  /** Some path of the host asks for regexes (annotations/rewrite.ts): all of them become regexes. */
  regex: boolean;
}

/** A server-alias asked for by an Ingress, for one of its rule hosts. */
interface AliasRequest {
  readonly alias: string;
  readonly host: string;
  readonly ref: IngressRef;
}

const TLS_SECRET_TYPE = 'kubernetes.io/tls';

/** A compiled table and the structured problems its `problems` strings were made from. */
export interface Compiled {
  readonly table: RouteTable;
  readonly problems: readonly IngressProblem[];
}

export function compile(state: ClusterState, options: CompileOptions = {}): RouteTable {
  return compileWithProblems(state, options).table;
}

export function compileWithProblems(state: ClusterState, options: CompileOptions = {}): Compiled {
  const ours = classFilter(state.classes, {
    controller: options.controller ?? CONTROLLER_NAME,
    className: options.className ?? DEFAULT_CLASS_NAME,
  });
  const ingresses = oldestFirst(state.ingresses.filter(ours));
  const services = indexServices(state.services, state.endpointSlices);
  const secrets = new Map<string, V1Secret>();
  for (const s of state.secrets) secrets.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);

  const problems: IngressProblem[] = [];
  /** Resolution per backend key, computed once but reported for every reference. */
  const resolved = new Map<string, readonly Endpoint[] | string>();
  const hosts = new Map<string, HostBuilder>();
  const certs = new Map<string, CertEntry>();
  const certOwners = new Map<string, Owner & { secret: string }>();
  /** Hosts whose handshakes ask for a client certificate, with the CA (annotations/client-tls.ts). */
  const clientCas = new Map<string, ClientCa>();
  const tlsHosts = new Set<string>();
  let catchAll: Target | null = null;
  let catchAllOwner: Owner | undefined;
  /** Canary Ingresses, merged beside their main targets once every main Ingress is in. */
  const canaries: { ing: V1Ingress; ref: IngressRef; rule: CanaryRule }[] = [];
  const aliasRequests: AliasRequest[] = [];

  for (const ing of ingresses) {
    const ns = ing.metadata?.namespace ?? 'default';
    const ref: IngressRef = {
      namespace: ns,
      name: ing.metadata?.name ?? '',
      uid: ing.metadata?.uid,
      id: `${ns}/${ing.metadata?.name}`,
    };
    const id = ref.id;
    const report = (reason: ProblemReason, field: string, what: string): void => {
      problems.push(problem(ref, reason, field, what));
    };
    const annotations = readIngressAnnotations(ing.metadata?.annotations);
    const { bad, refused, unknown } = annotations;
    // server-alias is host-level: the compiler takes it, targets never carry it.
    const { serverAlias, ...ingressPolicy } = annotations.policy;
    const annotationField = (annotation: string): string => `metadata.annotations[${quote(annotation)}]`;
    // Policies that name Secrets get the Secrets' data here: the workers never read Secrets.
    let policy = ingressPolicy.basicAuth
      ? {
          ...ingressPolicy,
          basicAuth: resolveBasicAuth(ingressPolicy.basicAuth, ns, secrets, (reason, what) =>
            report(reason, annotationField(`${NGINX_PREFIX}auth-secret`), what),
          ),
        }
      : ingressPolicy;
    for (const b of bad)
      report(
        'InvalidAnnotation',
        annotationField(b.annotation),
        `${quote(b.value)} is not ${b.expected}; ${b.consequence ?? 'ignored'}`,
      );
    for (const a of refused)
      report(
        'RefusedAnnotation',
        annotationField(a),
        'snippet annotations inject raw proxy configuration and are never run (the injection surface behind ingress-nginx CVE-2021-25742); ignored',
      );
    for (const a of unknown)
      report('UnknownAnnotation', annotationField(a), 'not an annotation Portico reads; ignored');
    if (policy.proxySsl?.secret !== undefined)
      policy = { ...policy, proxySsl: withSslSecret(policy.proxySsl, ns, secrets, report) };
    if (policy.clientTls !== undefined) {
      const clientTls = withClientCa(policy.clientTls, ns, secrets, report);
      policy = { ...policy, clientTls };
      // The handshakes of the Ingress's hosts ask for a certificate (the oldest Ingress's CA wins).
      if (asksClientCertificate(clientTls))
        for (const [k, rule] of (ing.spec?.rules ?? []).entries()) {
          const host = (rule.host ?? '').toLowerCase();
          if (host === '') continue;
          const had = clientCas.get(host);
          if (had === undefined)
            clientCas.set(host, { ca: clientTls.ca!, crl: clientTls.crl, secret: clientTls.secret, ref });
          else if (had.secret !== clientTls.secret)
            report(
              'RuleConflict',
              `spec.rules[${k}].host`,
              `host ${quote(host)} already verifies client certificates against secret ${quote(had.secret)} of Ingress ${quote(had.ref.id)}; its CA is used`,
            );
        }
    }
    // Cookie values are keyed by the Ingress's uid: stable across workers and replicas, unknown to clients.
    if (policy.affinity) policy = { ...policy, affinity: { ...policy.affinity, key: ref.uid ?? id } };
    if (policy.canaryRule) {
      canaries.push({ ing, ref, rule: policy.canaryRule });
      continue;
    }
    /** `path`: [rule, path] indexes; none for spec.defaultBackend. The field is built only to report. */
    const targetOf = (backend: V1IngressBackend, path?: [number, number]): Target => {
      const field = (): string =>
        path ? `spec.rules[${path[0]}].http.paths[${path[1]}].backend` : 'spec.defaultBackend';
      if (!backend.service) {
        const r = backend.resource;
        if (!r) report('UnsupportedBackend', field(), 'names neither a service nor a resource');
        else
          report(
            'UnsupportedBackend',
            `${field()}.resource`,
            `resource backend (kind ${quote(r.kind)}, name ${quote(r.name)}) is not supported; use a service backend`,
          );
        return { ingress: id, backend: null, ...policy };
      }
      const key = backendKey(ns, backend.service);
      let r = resolved.get(key);
      if (r === undefined) resolved.set(key, (r = resolveBackend(services, ns, backend.service)));
      if (typeof r === 'string')
        report(...backendProblem(services, ns, backend.service, `${field()}.service`));
      return { ingress: id, backend: key, ...policy };
    };

    const spec = ing.spec ?? {};
    const fallback = spec.defaultBackend ? targetOf(spec.defaultBackend) : null;
    const rules = spec.rules ?? [];
    if (rules.length === 0 && fallback) {
      if (!catchAllOwner) {
        catchAll = fallback;
        catchAllOwner = { ref, field: 'spec.defaultBackend' };
      } else
        report(
          'RuleConflict',
          'spec.defaultBackend',
          `the cluster-wide default backend is already defined ${definedBy(catchAllOwner, ref)}`,
        );
    }

    /** Hosts whose default backend this Ingress lost, reported once each. */
    const conflictingHosts = new Set<string>();
    rules.forEach((rule, r) => {
      const host = (rule.host ?? '').toLowerCase();
      let hb = hosts.get(host);
      if (!hb) hosts.set(host, (hb = { exact: new Map(), prefix: new Map(), fallback: null, regex: false }));
      if (host !== '') for (const alias of serverAlias ?? []) aliasRequests.push({ alias, host, ref });
      if (fallback && !hb.fallbackOwner) {
        hb.fallback = fallback;
        hb.fallbackOwner = { ref, field: 'spec.defaultBackend' };
      } else if (fallback && hb.fallbackOwner?.ref.id !== id && !conflictingHosts.has(host)) {
        conflictingHosts.add(host);
        const what = `the default backend of host ${quote(host || '*')} is already defined`;
        report('RuleConflict', 'spec.defaultBackend', `${what} ${definedBy(hb.fallbackOwner!, ref)}`);
      }
      (rule.http?.paths ?? []).forEach((p, i) => {
        const path = p.path || '/';
        const target = withCookiePath(targetOf(p.backend, [r, i]), path);
        if (regexMode(policy, path)) hb.regex = true;
        const owner: PathOwner = { ref, rule: r, index: i, path };
        const conflict = (old: PathOwner, kind: string): void =>
          report(
            'RuleConflict',
            fieldOf(owner),
            `${pathOf(path, kind, host)} is already defined ${definedBy(old, ref)}`,
          );
        if (p.pathType === 'Exact') {
          const old = hb.exact.get(path);
          if (old) return conflict(old.owner, 'Exact');
          hb.exact.set(path, { entry: { path, target }, owner });
          return;
        }
        // Prefix, and ImplementationSpecific which we define as Prefix. `/foo` and `/foo/` match the
        // same requests: the longer spelling wins, even over an older Ingress, and shadows the other.
        const norm = stripTrailingSlashes(path);
        const old = hb.prefix.get(norm);
        if (old) {
          if (path.length <= old.raw) return conflict(old.owner, 'Prefix');
          const field = fieldOf(owner);
          const by = old.owner.ref.id === id ? `at ${field}` : `by newer Ingress ${quote(id)} (${field})`;
          const what = `${pathOf(old.owner.path, 'Prefix', host)} is overridden ${by} as ${quote(path)}`;
          problems.push(problem(old.owner.ref, 'RuleConflict', fieldOf(old.owner), what));
        }
        hb.prefix.set(norm, { raw: path.length, entry: { path: norm, target }, owner });
      });
    });

    (spec.tls ?? []).forEach((tls, t) => {
      // No hosts: the certificate covers this Ingress's own rule hosts.
      const tlsList: [string, string][] = tls.hosts?.length
        ? tls.hosts.map((h, k) => [h, `spec.tls[${t}].hosts[${k}]`])
        : rules.flatMap((rule, k): [string, string][] =>
            rule.host ? [[rule.host, `spec.rules[${k}].host`]] : [],
          );
      for (const [h] of tlsList) tlsHosts.add(h.toLowerCase());
      if (!tls.secretName) return;
      const field = `spec.tls[${t}].secretName`;
      const secretName = `${ns}/${tls.secretName}`;
      const secret = secrets.get(secretName);
      if (!secret) {
        report('SecretNotFound', field, `secret ${quote(secretName)} not found`);
        return;
      }
      const pair = tlsPair(secret);
      if (typeof pair === 'string') {
        report('InvalidCertificate', field, `secret ${quote(secretName)} ${pair}`);
        return;
      }
      // A pair that does not parse is still published, as before (handshakes for its hosts then get
      // the default certificate); the report is what tells the user.
      const unusable = pairProblem(secret, pair);
      if (unusable) report('InvalidCertificate', field, `secret ${quote(secretName)}: ${unusable}`);
      for (const [h, hostField] of tlsList) {
        const host = h.toLowerCase();
        const owner = certOwners.get(host);
        if (!owner) {
          certs.set(host, { host, ...pair });
          certOwners.set(host, { ref, field, secret: secretName });
        } else if (owner.secret !== secretName)
          report(
            'RuleConflict',
            hostField,
            `TLS host ${quote(host)} already has the certificate of secret ${quote(owner.secret)} ${definedBy(owner, ref)}`,
          );
      }
    });
  }

  for (const c of canaries) mergeCanary(c.ing, c.ref, c.rule, hosts, resolved, services, problems);
  withClientCas(certs, clientCas, problems);

  const hostTables: HostTable[] = [...hosts].map(([host, hb]) =>
    hb.regex ? regexHost(host, hb, problems) : plainHost(host, hb),
  );
  hostTables.push(...aliasHosts(aliasRequests, hostTables, problems));
  hostTables.sort((a, b) => cmp(a.host, b.host));
  const backendList: BackendEntry[] = [...resolved]
    .sort(byKey)
    .map(([key, r]) => ({ key, endpoints: typeof r === 'string' ? [] : r }));
  const table: RouteTable = {
    version: options.version ?? 0,
    hosts: hostTables,
    catchAll,
    backends: backendList,
    certs: [...certs.values()].sort((a, b) => cmp(a.host, b.host)),
    tlsHosts: [...tlsHosts].sort(),
    served: ingresses.map((i) => `${i.metadata?.namespace ?? 'default'}/${i.metadata?.name}`),
    problems: problems.map(formatProblem),
  };
  return { table, problems };
}

/** The affinity cookie's Path defaults to the rule's path, as ingress-nginx's location path. */
function withCookiePath(target: Target, path: string): Target {
  const affinity = target.affinity;
  if (!affinity || affinity.path !== undefined) return target;
  return { ...target, affinity: { ...affinity, path } };
}

/**
 * Puts a canary Ingress's paths beside the main targets of the same host and path
 * (annotations/canary.ts). A path with no main target, or whose main target already has a canary,
 * is reported and serves nothing of the canary (ingress-nginx drops such a canary backend too).
 */
function mergeCanary(
  ing: V1Ingress,
  ref: IngressRef,
  rule: CanaryRule,
  hosts: Map<string, HostBuilder>,
  resolved: Map<string, readonly Endpoint[] | string>,
  services: ServiceIndex,
  problems: IngressProblem[],
): void {
  const report = (reason: ProblemReason, field: string, what: string): void => {
    problems.push(problem(ref, reason, field, what));
  };
  if (ing.spec?.defaultBackend)
    report('UnmatchedCanary', 'spec.defaultBackend', 'a canary default backend is not supported; ignored');
  (ing.spec?.rules ?? []).forEach((r, i) => {
    const host = (r.host ?? '').toLowerCase();
    (r.http?.paths ?? []).forEach((p, j) => {
      const field = `spec.rules[${i}].http.paths[${j}]`;
      const path = p.path || '/';
      const kind = p.pathType === 'Exact' ? 'Exact' : 'Prefix';
      const hb = hosts.get(host);
      const slot = kind === 'Exact' ? hb?.exact.get(path) : hb?.prefix.get(stripTrailingSlashes(path));
      if (!slot) {
        const what = `${pathOf(path, kind, host)} has no main (non-canary) Ingress; the canary serves nothing`;
        return report('UnmatchedCanary', field, what);
      }
      const main = slot.entry.target;
      if (main.canary)
        return report(
          'RuleConflict',
          field,
          `${pathOf(path, kind, host)} already has the canary Ingress ${quote(main.canary.target.ingress)} (one canary per path)`,
        );
      const service = p.backend.service;
      if (!service)
        return report('UnsupportedBackend', `${field}.backend`, 'a canary needs a service backend');
      const key = backendKey(ref.namespace, service);
      if (key === main.backend)
        return report('RuleConflict', `${field}.backend`, `the canary names the main backend ${quote(key)}`);
      let resolution = resolved.get(key);
      if (resolution === undefined)
        resolved.set(key, (resolution = resolveBackend(services, ref.namespace, service)));
      if (typeof resolution === 'string')
        report(...backendProblem(services, ref.namespace, service, `${field}.backend.service`));
      const target: Target = { ...main, ingress: ref.id, backend: key };
      slot.entry = { path: slot.entry.path, target: { ...main, canary: { rule, target } } };
    });
  });
}

/**
 * The proxy-ssl-secret of an Ingress (annotations/backend-protocol.ts) read into its TLS settings:
 * `ca.crt` to verify pods against, `tls.crt` and `tls.key` as client certificate. Only a Secret of
 * the Ingress's own namespace (as ingress-nginx); anything unusable is reported and left out.
 */
function withSslSecret(
  ssl: ProxySsl,
  ns: string,
  secrets: ReadonlyMap<string, V1Secret>,
  report: (reason: ProblemReason, field: string, what: string) => void,
): ProxySsl {
  const name = ssl.secret!;
  const field = 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"]';
  if (!name.startsWith(`${ns}/`)) {
    report('InvalidAnnotation', field, `${quote(name)} is not a Secret of namespace ${quote(ns)}; ignored`);
    return ssl;
  }
  const secret = secrets.get(name);
  if (!secret) {
    report('SecretNotFound', field, `secret ${quote(name)} not found`);
    return ssl;
  }
  const text = (key: string): string | undefined => {
    const b64 = secret.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  };
  const out: { -readonly [K in keyof ProxySsl]: ProxySsl[K] } = { ...ssl };
  const ca = text('ca.crt');
  if (ca !== undefined) out.ca = ca;
  const cert = text('tls.crt');
  const key = text('tls.key');
  if (cert !== undefined && key !== undefined) {
    out.cert = cert;
    out.key = key;
  }
  if (ca === undefined && cert === undefined)
    report('InvalidCertificate', field, `secret ${quote(name)} has neither ca.crt nor tls.crt and tls.key`);
  return out;
}

/**
 * The auth-tls-secret of an Ingress (annotations/client-tls.ts) read into its policy: the CA
 * certificates of `ca.crt`. A Secret of another namespace, a missing one, or one without a CA that
 * parses denies the Ingress's routes (503): client certificates were asked for.
 */
function withClientCa(
  policy: ClientTlsPolicy,
  ns: string,
  secrets: ReadonlyMap<string, V1Secret>,
  report: (reason: ProblemReason, field: string, what: string) => void,
): ClientTlsPolicy {
  if (policy.denied !== undefined) return policy;
  const name = policy.secret;
  const field = 'metadata.annotations["nginx.ingress.kubernetes.io/auth-tls-secret"]';
  const deny = (reason: ProblemReason, what: string): ClientTlsPolicy => {
    report(reason, field, `${what}; the Ingress answers 503`);
    return { ...policy, denied: what };
  };
  if (!name.startsWith(`${ns}/`))
    return deny('InvalidAnnotation', `${quote(name)} is not a Secret of namespace ${quote(ns)}`);
  const secret = secrets.get(name);
  if (!secret) return deny('SecretNotFound', `secret ${quote(name)} not found`);
  const b64 = secret.data?.['ca.crt'];
  if (b64 === undefined) return deny('InvalidCertificate', `secret ${quote(name)} has no ca.crt`);
  const ca = Buffer.from(b64, 'base64').toString('utf8');
  const unusable = caProblem(secret, ca);
  if (unusable !== null) return deny('InvalidCertificate', `secret ${quote(name)}: ca.crt ${unusable}`);
  // ingress-nginx ignores an empty ca.crl and refuses the Secret for one that is not a CRL.
  const crlB64 = secret.data?.['ca.crl'];
  const crl =
    crlB64 === undefined || crlB64 === '' ? undefined : Buffer.from(crlB64, 'base64').toString('utf8');
  const badCrl = crl === undefined ? null : crlProblem(secret, ca, crl);
  if (badCrl !== null) return deny('InvalidCertificate', `secret ${quote(name)}: ca.crl ${badCrl}`);
  const version = secret.metadata?.resourceVersion;
  return {
    ...policy,
    secret: version === undefined ? name : `${name}@${version}`,
    ca,
    ...(crl !== undefined && { crl }),
  };
}

/** Why a `ca.crl` cannot be used, or null: its first PEM block must be a CRL that parses (as ingress-nginx's). */
const checkedCrls = new WeakMap<V1Secret, string | null>();
function crlProblem(secret: V1Secret, ca: string, crl: string): string | null {
  let verdict = checkedCrls.get(secret);
  if (verdict === undefined) {
    const first = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(crl)?.[1];
    if (first === undefined) verdict = 'holds no PEM block';
    else if (first !== 'X509 CRL') verdict = `starts with a PEM ${quote(first)} block, not "X509 CRL"`;
    else
      try {
        createSecureContext({ ca, crl: [crl, ...crlBlocks(crl).slice(1)] });
        verdict = null;
      } catch (err) {
        verdict = `does not parse: ${(err as Error).message}`;
      }
    checkedCrls.set(secret, verdict);
  }
  return verdict;
}

/** A host's client CA, from the oldest Ingress asking for client certificates on it. */
interface ClientCa {
  readonly ca: string;
  readonly crl: string | undefined;
  readonly secret: string;
  readonly ref: IngressRef;
}

/** Why a CA bundle cannot verify anything, or null; parsed once per Secret object. */
const checkedCas = new WeakMap<V1Secret, string | null>();
function caProblem(secret: V1Secret, ca: string): string | null {
  let verdict = checkedCas.get(secret);
  if (verdict === undefined) {
    try {
      createSecureContext({ ca });
      verdict = /-----BEGIN CERTIFICATE-----/.test(ca) ? null : 'holds no PEM certificate';
    } catch (err) {
      verdict = `does not parse: ${(err as Error).message}`;
    }
    checkedCas.set(secret, verdict);
  }
  return verdict;
}

/**
 * Gives the certificates of hosts that verify client certificates their CA. A host served by a
 * wildcard certificate gets an entry of its own with that pair; a host without a certificate here
 * cannot ask for one (the default certificate is shared): reported, and its requests fail the check.
 */
function withClientCas(
  certs: Map<string, CertEntry>,
  clientCas: ReadonlyMap<string, ClientCa>,
  problems: IngressProblem[],
): void {
  for (const [host, { ca, crl, secret, ref }] of clientCas) {
    const cert = certs.get(host) ?? certs.get(`*.${host.slice(host.indexOf('.') + 1)}`);
    if (!cert) {
      problems.push(
        problem(
          ref,
          'InvalidAnnotation',
          'metadata.annotations["nginx.ingress.kubernetes.io/auth-tls-secret"]',
          `host ${quote(host)} has no TLS certificate of its own (spec.tls), so no client certificate is asked for; its requests are refused`,
        ),
      );
      continue;
    }
    certs.set(host, {
      host,
      id: `${cert.id}#client-ca:${secret}`,
      cert: cert.cert,
      key: cert.key,
      clientCa: ca,
      ...(crl !== undefined && { clientCrl: crl }),
    });
  }
}

function plainHost(host: string, hb: HostBuilder): HostTable {
  return {
    host,
    exact: [...hb.exact.values()].map((v) => v.entry),
    prefix: [...hb.prefix.values()].map((v) => v.entry),
    fallback: hb.fallback,
  };
}

/**
 * A host whose paths are regexes: every path as written (Exact ones too, as ingress-nginx's
 * `~* "^path"` locations), longest first, as ingress-nginx orders them. A pattern that cannot be
 * used is left out and reported on its path.
 */
function regexHost(host: string, hb: HostBuilder, problems: IngressProblem[]): HostTable {
  const regex: PathEntry[] = [];
  for (const { entry, owner } of [...hb.exact.values(), ...hb.prefix.values()]) {
    const why = regexPathProblem(owner.path);
    if (why === undefined) regex.push({ path: owner.path, target: entry.target });
    else
      problems.push(
        problem(
          owner.ref,
          'InvalidPath',
          fieldOf(owner),
          `path ${quote(owner.path)} of host ${quote(host || '*')} is read as a regular expression (use-regex or rewrite-target on this host) and ${why}; not served`,
        ),
      );
  }
  // ingress-nginx: by path descending, then (stably) by length descending; nginx takes the first match.
  regex.sort((a, b) => b.path.length - a.path.length || cmp(b.path, a.path));
  return { host, exact: [], prefix: [], regex, fallback: hb.fallback };
}

/**
 * Hosts added by server-alias: each serves what its host serves. An alias that is a host of some
 * Ingress already, or was taken by an older Ingress's alias, is reported and not added.
 */
function aliasHosts(
  requests: readonly AliasRequest[],
  tables: readonly HostTable[],
  problems: IngressProblem[],
): HostTable[] {
  const byHost = new Map(tables.map((t) => [t.host, t]));
  const taken = new Map<string, AliasRequest>();
  const out: HostTable[] = [];
  const field = 'metadata.annotations["nginx.ingress.kubernetes.io/server-alias"]';
  for (const req of requests) {
    const report = (what: string): void => {
      problems.push(
        problem(req.ref, 'RuleConflict', field, `server-alias ${quote(req.alias)} ${what}; not added`),
      );
    };
    const earlier = taken.get(req.alias);
    if (earlier?.host === req.host) continue;
    if (byHost.has(req.alias)) report('is already a host of an Ingress rule');
    else if (earlier)
      report(`is already an alias of host ${quote(earlier.host)} (Ingress ${quote(earlier.ref.id)})`);
    else {
      taken.set(req.alias, req);
      out.push({ ...byHost.get(req.host)!, host: req.alias });
    }
  }
  return out;
}

interface IngressRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  /** `namespace/name`. */
  readonly id: string;
}

/** Where a host's default backend or a TLS host was first defined. */
interface Owner {
  readonly ref: IngressRef;
  readonly field: string;
}

/** Where a path was first defined: indexes, so the field is spelled out only for a report. */
interface PathOwner {
  readonly ref: IngressRef;
  readonly rule: number;
  readonly index: number;
  /** The path as written. */
  readonly path: string;
}

function fieldOf(owner: Owner | PathOwner): string {
  return 'field' in owner ? owner.field : `spec.rules[${owner.rule}].http.paths[${owner.index}].path`;
}

function problem(ref: IngressRef, reason: ProblemReason, field: string, what: string): IngressProblem {
  return {
    namespace: ref.namespace,
    name: ref.name,
    ...(ref.uid ? { uid: ref.uid } : {}),
    reason,
    field,
    message: `${field}: ${what}`,
  };
}

function pathOf(path: string, kind: string, host: string): string {
  return `path ${quote(path)} (${kind}) of host ${quote(host || '*')}`;
}

function definedBy(owner: Owner | PathOwner, ref: IngressRef): string {
  return owner.ref.id === ref.id
    ? `at ${fieldOf(owner)}`
    : `by older Ingress ${quote(owner.ref.id)} (${fieldOf(owner)})`;
}

/** Tells a missing Service from a missing port; `field` is the backend's `service` field. */
function backendProblem(
  index: ServiceIndex,
  ns: string,
  backend: V1IngressServiceBackend,
  field: string,
): [ProblemReason, string, string] {
  const svc = `${ns}/${backend.name}`;
  if (!index.services.has(svc))
    return ['BackendServiceNotFound', `${field}.name`, `service ${quote(svc)} not found`];
  const port = backend.port;
  if (port?.name)
    return [
      'BackendPortNotFound',
      `${field}.port.name`,
      `service ${quote(svc)} has no port named ${quote(port.name)}`,
    ];
  return [
    'BackendPortNotFound',
    `${field}.port.number`,
    `service ${quote(svc)} has no port ${port?.number ?? '(none given)'}`,
  ];
}

function tlsPair(secret: V1Secret): { id: string; cert: string; key: string } | string {
  if (secret.type !== undefined && secret.type !== TLS_SECRET_TYPE)
    return `has type ${quote(secret.type)}, not ${quote(TLS_SECRET_TYPE)}`;
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (!crt && !key) return 'has neither tls.crt nor tls.key';
  if (!crt) return 'has no tls.crt';
  if (!key) return 'has no tls.key';
  const m = secret.metadata;
  return {
    id: `${m?.namespace}/${m?.name}@${m?.resourceVersion ?? ''}`,
    cert: Buffer.from(crt, 'base64').toString('utf8'),
    key: Buffer.from(key, 'base64').toString('utf8'),
  };
}

/**
 * Why a Secret's PEM pair cannot be served, or null when it can. Parsed once per Secret object: the
 * informer hands the same object to every compile until the Secret changes.
 */
const checkedPairs = new WeakMap<V1Secret, string | null>();

function pairProblem(secret: V1Secret, pair: { cert: string; key: string }): string | null {
  let verdict = checkedPairs.get(secret);
  if (verdict === undefined) {
    verdict = checkPair(pair.cert, pair.key);
    checkedPairs.set(secret, verdict);
  }
  return verdict;
}

function checkPair(certPem: string, keyPem: string): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return `tls.crt is not a PEM certificate (${(err as Error).message})`;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return `tls.key is not a PEM private key (${(err as Error).message})`;
  }
  return cert.checkPrivateKey(key) ? null : 'tls.key does not belong to the certificate in tls.crt';
}

function quote(value: string | undefined): string {
  return JSON.stringify(value ?? '');
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function creationTime(i: V1Ingress): number {
  const t = i.metadata?.creationTimestamp;
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Sorted by creationTimestamp, then namespace/name; sort keys computed once, not per comparison. */
function oldestFirst(ingresses: V1Ingress[]): V1Ingress[] {
  const keyed = ingresses.map((ing) => ({
    ing,
    time: creationTime(ing),
    name: `${ing.metadata?.namespace ?? ''}/${ing.metadata?.name ?? ''}`,
  }));
  keyed.sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : cmp(a.name, b.name)));
  return keyed.map((k) => k.ing);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return cmp(a[0], b[0]);
}
