/**
 * Maps a request path onto the API: discovery paths, health endpoints, and resource paths
 * (`/api/v1/...`, `/apis/<group>/<version>/...`, optionally `namespaces/<ns>/`, the legacy
 * `watch/` prefix, a name and the `status` subresource).
 */
import { plainNotFound } from './errors.js';
import type { ResourceCatalog, ResourceInfo } from './resources.js';

export type Route =
  | { kind: 'health'; check: string }
  | { kind: 'version' }
  | { kind: 'coreVersions' }
  | { kind: 'groupList' }
  | { kind: 'group'; group: string }
  | { kind: 'resourceList'; group: string; version: string }
  | { kind: 'openapi'; version: string; path: string }
  | {
      kind: 'resource';
      resource: ResourceInfo;
      namespace?: string;
      name?: string;
      subresource?: 'status';
      legacyWatch: boolean;
    };

export function route(pathname: string, catalog: ResourceCatalog): Route {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  const [first, second, third] = segments;
  if (segments.length === 1 && (first === 'healthz' || first === 'readyz' || first === 'livez')) {
    return { kind: 'health', check: first };
  }
  if (segments.length === 1 && first === 'version') return { kind: 'version' };
  if (first === 'openapi' && (second === 'v2' || second === 'v3')) {
    return { kind: 'openapi', version: second, path: segments.slice(2).join('/') };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (first === 'api') {
    if (segments.length === 1) return { kind: 'coreVersions' };
    group = '';
    version = second!;
    rest = segments.slice(2);
  } else if (first === 'apis') {
    if (segments.length === 1) return { kind: 'groupList' };
    if (segments.length === 2) return { kind: 'group', group: second! };
    group = second!;
    version = third!;
    rest = segments.slice(3);
  } else {
    throw plainNotFound();
  }
  if (rest.length === 0) return { kind: 'resourceList', group, version };
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // namespaces/<ns>/<resource>/... unless it is a Namespace's own subresource (namespaces/<name>/status).
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const resource = plural ? catalog.find(group, version, plural) : undefined;
  if (!resource || extra.length > 0) throw plainNotFound();
  if (namespace !== undefined && !resource.namespaced) throw plainNotFound();
  if (subresource !== undefined && (subresource !== 'status' || !resource.statusSubresource))
    throw plainNotFound();
  return {
    kind: 'resource',
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource === 'status' ? { subresource } : {}),
    legacyWatch,
  };
}
