import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Where to find the API server: an explicit kubeconfig file wins; otherwise the in-cluster service
 * account when running in a pod. The caller (an app) decides, from flags or KUBECONFIG.
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) {
    kc.loadFromFile(file);
  } else if (existsSync(`${serviceAccountDir}/token`)) {
    kc.loadFromCluster();
  } else {
    throw new Error('no Kubernetes API configured: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod');
  }
  return kc;
}
