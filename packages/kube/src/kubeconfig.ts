import { ApiClient, type ApiClientOptions } from './client/api-client.js';
import { loadCredentials } from './client/credentials.js';

/**
 * The process's one connection pool to the API server: an explicit kubeconfig file wins;
 * otherwise the in-cluster ServiceAccount when running in a pod. The caller (an app) decides,
 * from flags or KUBECONFIG. Every informer and writer of the process shares it.
 */
export function connectKube(file?: string, options?: ApiClientOptions): ApiClient {
  return new ApiClient(loadCredentials(file), options);
}
