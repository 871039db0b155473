/**
 * What Portico will do with a set of Ingress manifests, without a cluster (`portico ingress
 * check`): per Ingress, its hosts and paths as Portico matches them (exact, prefix, or regex when
 * use-regex/rewrite-target make the host's paths regexes), the backends, what its annotations ask
 * for (the route policy), and every problem the compiler finds in it: bad annotation values,
 * refused snippets, unknown annotations, regex paths that cannot be used, conflicts between the
 * manifests given.
 *
 * Services, EndpointSlices and Secrets live in the cluster, so their absence is not a problem here
 * (BackendServiceNotFound, BackendPortNotFound and SecretNotFound are left out), and every Ingress
 * is checked as if its class were Portico's (its class is printed so that a wrong one shows).
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { readIngressAnnotations, type RoutePolicy } from './annotations/index.js';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './classes.js';
import { compileWithProblems, type IngressProblem } from './compile.js';
import type { Target } from './table.js';

export interface CheckedPath {
  readonly host: string;
  readonly path: string;
  readonly match: 'Exact' | 'Prefix' | 'Regex' | 'Default';
  /** `namespace/service:port`, or null for a backend Portico cannot serve. */
  readonly backend: string | null;
}

export interface CheckedIngress {
  /** `namespace/name`. */
  readonly ingress: string;
  /** Where it was read from (file and document index). */
  readonly source: string;
  /** spec.ingressClassName, or the old kubernetes.io/ingress.class annotation; null when neither. */
  readonly ingressClass: string | null;
  readonly paths: readonly CheckedPath[];
  /** Hosts added by server-alias that Portico will serve. */
  readonly aliases: readonly string[];
  /** What the annotations ask of its routes (only what differs from the defaults). */
  readonly policy: RoutePolicy;
  /** What Portico will not honour, each with its reason (an Event reason) and message. */
  readonly problems: readonly { readonly reason: string; readonly message: string }[];
}

export interface IngressCheck {
  readonly ingresses: readonly CheckedIngress[];
  /** Problems of the input itself: documents that are no Ingress Portico can read. */
  readonly inputProblems: readonly string[];
}

/** Reasons that depend on objects only the cluster has. */
const CLUSTER_ONLY = new Set(['BackendServiceNotFound', 'BackendPortNotFound', 'SecretNotFound']);

/** `documents`: parsed manifests with where they came from; kinds other than Ingress are skipped. */
export function checkIngresses(documents: readonly { source: string; object: unknown }[]): IngressCheck {
  const inputProblems: string[] = [];
  const found: { source: string; ingress: V1Ingress; id: string; ingressClass: string | null }[] = [];
  const seen = new Set<string>();
  for (const { source, object } of flattenLists(documents)) {
    if (object === null || typeof object !== 'object') continue;
    const o = object as { kind?: unknown; apiVersion?: unknown };
    if (o.kind !== 'Ingress') continue;
    if (o.apiVersion !== 'networking.k8s.io/v1') {
      inputProblems.push(`${source}: apiVersion ${JSON.stringify(o.apiVersion)} is not networking.k8s.io/v1`);
      continue;
    }
    const ing = object as V1Ingress;
    if (typeof ing.metadata?.name !== 'string' || ing.metadata.name === '') {
      inputProblems.push(`${source}: metadata.name is missing`);
      continue;
    }
    const ns = ing.metadata.namespace ?? 'default';
    const id = `${ns}/${ing.metadata.name}`;
    if (seen.has(id)) {
      inputProblems.push(`${source}: Ingress ${JSON.stringify(id)} is given twice; the first is checked`);
      continue;
    }
    seen.add(id);
    const ingressClass =
      ing.spec?.ingressClassName ?? ing.metadata.annotations?.['kubernetes.io/ingress.class'] ?? null;
    // Checked as one of ours, whatever its class; a copy, so the caller's object is not changed.
    const ours: V1Ingress = {
      ...ing,
      metadata: { ...ing.metadata, namespace: ns },
      spec: { ...ing.spec, ingressClassName: DEFAULT_CLASS_NAME },
    };
    found.push({ source, ingress: ours, id, ingressClass });
  }
  const { table, problems } = compileWithProblems({
    ingresses: found.map((f) => f.ingress),
    classes: [{ metadata: { name: DEFAULT_CLASS_NAME }, spec: { controller: CONTROLLER_NAME } }],
    services: [],
    endpointSlices: [],
    secrets: [],
  });
  const byIngress = new Map<string, IngressProblem[]>();
  for (const p of problems) {
    if (CLUSTER_ONLY.has(p.reason)) continue;
    const id = `${p.namespace}/${p.name}`;
    byIngress.set(id, [...(byIngress.get(id) ?? []), p]);
  }
  const realHosts = new Set<string>();
  for (const f of found)
    for (const r of f.ingress.spec?.rules ?? []) realHosts.add((r.host ?? '').toLowerCase());
  const ingresses = found.map(({ source, ingress, id, ingressClass }): CheckedIngress => {
    const paths: CheckedPath[] = [];
    const aliases: string[] = [];
    const mine = (t: Target | null): t is Target => t !== null && t.ingress === id;
    for (const h of table.hosts) {
      const isAlias = !realHosts.has(h.host);
      const add = (path: string, match: CheckedPath['match'], t: Target): void => {
        if (isAlias) {
          if (!aliases.includes(h.host)) aliases.push(h.host);
          return;
        }
        paths.push({ host: h.host || '*', path, match, backend: t.backend });
      };
      for (const e of h.exact) if (mine(e.target)) add(e.path, 'Exact', e.target);
      for (const e of h.prefix) if (mine(e.target)) add(e.path || '/', 'Prefix', e.target);
      for (const e of h.regex ?? []) if (mine(e.target)) add(e.path, 'Regex', e.target);
      if (mine(h.fallback) && !isAlias) add('(no path matched)', 'Default', h.fallback);
    }
    if (mine(table.catchAll))
      paths.push({ host: '*', path: '(anything)', match: 'Default', backend: table.catchAll.backend });
    const { serverAlias: _alias, ...policy } = readIngressAnnotations(ingress.metadata?.annotations).policy;
    return {
      ingress: id,
      source,
      ingressClass,
      paths,
      aliases,
      policy,
      problems: (byIngress.get(id) ?? []).map((p) => ({ reason: p.reason, message: p.message })),
    };
  });
  return { ingresses, inputProblems };
}

/** `kind: List` documents (what `kubectl get -o yaml` prints) replaced by their items. */
function flattenLists(
  documents: readonly { source: string; object: unknown }[],
): { source: string; object: unknown }[] {
  return documents.flatMap((d) => {
    const items = (d.object as { kind?: unknown; items?: unknown } | null)?.items;
    if ((d.object as { kind?: unknown } | null)?.kind !== 'List' || !Array.isArray(items)) return [d];
    return items.map((object, i) => ({ source: `${d.source} items[${i}]`, object }));
  });
}

/** The check as text for people: one block per Ingress. */
export function formatIngressCheck(check: IngressCheck): string {
  const lines: string[] = [];
  for (const p of check.inputProblems) lines.push(`input: ${p}`);
  for (const i of check.ingresses) {
    lines.push(`Ingress ${i.ingress} (${i.source})`);
    if (i.ingressClass !== DEFAULT_CLASS_NAME)
      lines.push(
        `  class: ${i.ingressClass === null ? '(none)' : JSON.stringify(i.ingressClass)}; Portico serves class "${DEFAULT_CLASS_NAME}" unless told otherwise`,
      );
    for (const p of i.paths)
      lines.push(`  ${p.host} ${p.path} (${p.match}) -> ${p.backend ?? '(no service backend: 503)'}`);
    if (i.paths.length === 0) lines.push('  no routes');
    for (const a of i.aliases) lines.push(`  alias ${a}: served as its host`);
    for (const [key, value] of Object.entries(i.policy)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
    for (const p of i.problems) lines.push(`  not honoured (${p.reason}): ${p.message}`);
  }
  const problems = check.inputProblems.length + check.ingresses.reduce((n, i) => n + i.problems.length, 0);
  lines.push(
    `${check.ingresses.length} Ingress${check.ingresses.length === 1 ? '' : 'es'}, ${problems} problem${problems === 1 ? '' : 's'}`,
  );
  return lines.join('\n');
}

/** Whether the check found anything Portico will not honour (exit code 1). */
export function hasProblems(check: IngressCheck): boolean {
  return check.inputProblems.length > 0 || check.ingresses.some((i) => i.problems.length > 0);
}
