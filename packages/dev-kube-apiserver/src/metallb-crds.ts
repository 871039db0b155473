/**
 * Installs Portico's metallb.io CRDs (manifests/crds, the files its kustomization lists) on an API
 * server, for tests and the lab that run the controller or the speakers from MetalLB resources, and
 * waits until each kind is served (a real kube-apiserver serves a new CRD a moment after the
 * create, once it is Established).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type ApiClient, applyObject } from '@portico/kube';
import { parse, parseAllDocuments } from 'yaml';

const crdDir = new URL('../../../manifests/crds/', import.meta.url).pathname;

/** The CRD files manifests/crds/kustomization.yaml lists, in its order. */
export function metallbCrdFiles(): string[] {
  const kustomization = parse(readFileSync(join(crdDir, 'kustomization.yaml'), 'utf8')) as {
    resources?: unknown;
  };
  const files = kustomization.resources;
  if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string'))
    throw new Error(`${join(crdDir, 'kustomization.yaml')}: resources must list the CRD files`);
  return files.map((f) => join(crdDir, f));
}

export async function installMetallbCrds(api: ApiClient): Promise<void> {
  const served: string[] = [];
  for (const file of metallbCrdFiles()) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as
        (KubernetesObject & { spec?: { names?: { plural?: string }; versions?: { name: string }[] } }) | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      await applyObject(api, crd);
      for (const version of crd.spec?.versions ?? [])
        served.push(`/apis/metallb.io/${version.name}/${crd.spec?.names?.plural}`);
    }
  }
  const deadline = Date.now() + 60_000;
  for (const path of served)
    for (;;) {
      try {
        await api.request('GET', path, { query: { limit: 1 } });
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`the API server does not serve ${path} 60 s after installing the CRDs`, {
            cause: err,
          });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
}
