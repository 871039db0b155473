/**
 * Installs Portico's metallb.io CRDs (manifests/crds) on an API server, for tests that run the
 * controller or the speakers from MetalLB resources, and waits until each kind is served (a real
 * kube-apiserver serves a new CRD a moment after the create, once it is Established).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type ApiClient, applyObject } from '@portico/kube';
import { parseAllDocuments } from 'yaml';

const crdDir = new URL('../../../manifests/crds/', import.meta.url).pathname;

export async function installMetallbCrds(api: ApiClient): Promise<void> {
  const served: string[] = [];
  for (const file of readdirSync(crdDir).sort()) {
    if (!file.endsWith('.yaml') || file === 'kustomization.yaml') continue;
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), 'utf8'))) {
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
