/**
 * The discovery documents kubectl and client-go read before anything else: /version, /api,
 * /api/v1, /apis, /apis/<group> and /apis/<group>/<version>. Only the legacy (unaggregated)
 * format is served; clients that ask for aggregated discovery (apidiscovery.k8s.io/v2) fall back
 * to it when the response's Content-Type is plain application/json.
 */
import { apiVersionOf, verbsOf, type ResourceCatalog } from './resources.js';

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    // The Kubernetes version whose behaviour the differential suite measures it against.
    minor: '36',
    gitVersion: 'v1.36.3-portico-dev',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.26.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDocument(catalog: ResourceCatalog, group: string): Record<string, unknown> {
  const versions = catalog
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(catalog: ResourceCatalog): Record<string, unknown> {
  const groups = [...new Set(catalog.groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((g) => groupDocument(catalog, g)),
  };
}

export function apiGroup(catalog: ResourceCatalog, group: string): Record<string, unknown> | undefined {
  if (!catalog.groupVersions().some((gv) => gv.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(catalog, group) };
}

export function apiResourceList(
  catalog: ResourceCatalog,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const resources = catalog.all().filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  const entries: Record<string, unknown>[] = [];
  for (const r of resources) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
    };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    entries.push(entry);
    if (r.statusSubresource) {
      entries.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(resources[0]!),
    resources: entries,
  };
}
