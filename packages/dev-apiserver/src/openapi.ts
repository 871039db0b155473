/**
 * A minimal OpenAPI v3 discovery: the root index (/openapi/v3) and one document per group
 * version holding, for each kind, only the PATCH operation of a named object with its query
 * parameters and the x-kubernetes-group-version-kind extension. That is what kubectl reads to learn
 * that the server accepts `fieldValidation` (so it does not need schemas to validate client-side).
 * The documents hold no schemas and no request body types, so `kubectl apply` computes its
 * strategic merge patches from its compiled-in types, exactly as it does for a server without
 * OpenAPI. There is no /openapi/v2.
 */
import { apiVersionOf, type ResourceCatalog } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openApiV3Root(catalog: ResourceCatalog): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const { group, version } of catalog.groupVersions()) {
    const path = gvPath(group, version);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=portico-dev` };
  }
  return { paths };
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

export function openApiV3GroupVersion(
  catalog: ResourceCatalog,
  pathAfterV3: string,
): Record<string, unknown> | undefined {
  const gv = catalog.groupVersions().find(({ group, version }) => gvPath(group, version) === pathAfterV3);
  if (!gv) return undefined;
  const resources = catalog.all();
  const paths: Record<string, unknown> = {};
  for (const r of resources) {
    if (r.group !== gv.group || r.version !== gv.version) continue;
    const prefix = `/${gvPath(r.group, r.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}`;
    paths[`${prefix}/${r.plural}/{name}`] = {
      patch: {
        operationId: `patch${r.namespaced ? 'Namespaced' : ''}${r.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: QUERY_PARAMETERS.map((name) => ({
          name,
          in: 'query',
          schema: { type: 'string', uniqueItems: true },
        })),
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: {
      title: 'Kubernetes (portico development API server)',
      version: apiVersionOf(resources.find((r) => r.group === gv.group)!),
    },
    paths,
    components: { schemas: {} },
  };
}
