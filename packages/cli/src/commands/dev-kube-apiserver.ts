/**
 * `portico dev kube-apiserver [--port N] [--kubeconfig-out FILE] [--data-dir DIR]`: runs a real
 * kube-apiserver and etcd on loopback (a DEVELOPMENT tool: RBAC on, its own certificate and admin
 * token) until SIGINT or SIGTERM, then stops both and removes what it made. The first run builds
 * the binaries pinned in packages/dev-kube-apiserver/go with Go (progress on stderr); later runs
 * start in seconds. Prints the URL on stdout. Exit 0 after a clean shutdown, 1 when it cannot
 * start, 2 on usage errors.
 */
import { writeFileSync } from 'node:fs';
import { startKubeApiServer } from '@portico/dev-kube-apiserver';
import { pino } from 'pino';
import { portArg } from '../args.js';

const usage = 'usage: portico dev kube-apiserver [--port N] [--kubeconfig-out FILE] [--data-dir DIR]';

interface Options {
  port: number;
  kubeconfigOut?: string;
  dataDir?: string;
}

function parse(args: string[]): Options {
  const options: Options = { port: 0 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v === '') throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port') options.port = portArg(value(), 'port');
    else if (arg === '--kubeconfig-out') options.kubeconfigOut = value();
    else if (arg === '--data-dir') options.dataDir = value();
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  let options: Options;
  try {
    options = parse(args);
  } catch (err) {
    console.error(`portico dev kube-apiserver: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const logger = pino({ name: 'dev-kube-apiserver' }, pino.destination(2));
  let server;
  try {
    server = await startKubeApiServer({
      port: options.port,
      dataDir: options.dataDir,
      progress: (line) => logger.info(line),
    });
  } catch (err) {
    console.error(`portico dev kube-apiserver: cannot start: ${(err as Error).message}`);
    return 1;
  }
  if (options.kubeconfigOut) {
    writeFileSync(options.kubeconfigOut, server.kubeconfig(), { mode: 0o600 });
    logger.info({ file: options.kubeconfigOut }, 'admin kubeconfig written');
  }
  console.log(server.url);
  logger.info(
    { url: server.url, version: server.version, dataDir: server.dataDir, kubectl: server.binaries.kubectl },
    'kube-apiserver and etcd running (development only)',
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'stopping kube-apiserver and etcd');
  await server.close();
  return 0;
}
