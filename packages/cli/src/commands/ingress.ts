/**
 * `portico ingress`: the Ingress proxy. The process started by the user is the cluster primary
 * (ingress-primary.ts); it forks --workers serving processes, which run this same command and see
 * cluster.isWorker. Each side loads only its own modules: a worker serves traffic from the tables
 * the primary sends and loads no Kubernetes client at all.
 */
import cluster from 'node:cluster';

export async function run(args: string[]): Promise<number> {
  if (cluster.isWorker) {
    const { runWorker } = await import('@portico/ingress/workers');
    await runWorker();
    return 0;
  }
  const { runPrimary } = await import('./ingress-primary.js');
  return runPrimary(args);
}
