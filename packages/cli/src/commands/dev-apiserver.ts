/**
 * `portico dev apiserver [--port N] [--host ADDR] [--kubeconfig-out FILE] [--history N] [--log-level L]`:
 * runs the development Kubernetes API server (a DEVELOPMENT tool: in-memory, no auth, plain HTTP)
 * until SIGINT or SIGTERM. Prints the URL on stdout, writes a kubeconfig (context `portico-dev`)
 * when asked, and logs JSON with pino on stderr (every request at debug level).
 * Exit 0 after a clean shutdown, 1 when the server cannot start, 2 on usage errors.
 */
import { writeFileSync } from 'node:fs';
import { pino, type Level } from 'pino';
import { startDevApiServer } from '@portico/dev-apiserver';

const usage = [
  'usage: portico dev apiserver [--port N] [--host ADDR] [--kubeconfig-out FILE] [--history N]',
  '                             [--service-cidr CIDR[,CIDR]] [--node-port-range FIRST-LAST] [--log-level LEVEL]',
].join('\n');

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

interface Options {
  port: number;
  host: string;
  kubeconfigOut?: string;
  history?: number;
  serviceCidrs?: string[];
  nodePortRange?: [number, number];
  level: Level;
}

function parse(args: string[]): Options | string {
  const options: Options = { port: 0, host: '127.0.0.1', level: 'info' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    switch (flag) {
      case '--port': {
        const v = value();
        if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535) return `--port needs a port number`;
        options.port = Number(v);
        break;
      }
      case '--host': {
        const v = value();
        if (!v) return '--host needs an address';
        options.host = v;
        break;
      }
      case '--kubeconfig-out': {
        const v = value();
        if (!v) return '--kubeconfig-out needs a file name';
        options.kubeconfigOut = v;
        break;
      }
      case '--history': {
        const v = value();
        if (v === undefined || !/^[1-9]\d*$/.test(v)) return '--history needs a positive number of events';
        options.history = Number(v);
        break;
      }
      case '--service-cidr': {
        const v = value();
        const cidrs = v?.split(',').filter((c) => c !== '') ?? [];
        if (cidrs.length < 1 || cidrs.length > 2)
          return '--service-cidr needs one CIDR, or two (IPv4 and IPv6) separated by a comma';
        options.serviceCidrs = cidrs;
        break;
      }
      case '--node-port-range': {
        const match = /^(\d+)-(\d+)$/.exec(value() ?? '');
        const [first, last] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
        if (!match || first < 1 || last > 65535 || first > last)
          return '--node-port-range needs FIRST-LAST, for example 30000-32767';
        options.nodePortRange = [first, last];
        break;
      }
      case '--log-level': {
        const v = value();
        if (v === undefined || !LEVELS.includes(v)) return `--log-level must be one of ${LEVELS.join(', ')}`;
        options.level = v as Level;
        break;
      }
      default:
        return `unknown argument ${arg}`;
    }
  }
  return options;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const options = parse(args);
  if (typeof options === 'string') {
    console.error(`portico dev apiserver: ${options}\n${usage}`);
    return 2;
  }
  const logger = pino({ name: 'dev-apiserver', level: options.level }, pino.destination(2));
  let server;
  try {
    server = await startDevApiServer({
      port: options.port,
      host: options.host,
      logger,
      ...(options.history !== undefined ? { historyLimit: options.history } : {}),
      ...(options.serviceCidrs ? { serviceCidrs: options.serviceCidrs } : {}),
      ...(options.nodePortRange ? { nodePortRange: options.nodePortRange } : {}),
    });
  } catch (error) {
    console.error(`portico dev apiserver: cannot start: ${(error as Error).message}`);
    return 1;
  }
  if (options.kubeconfigOut) {
    writeFileSync(options.kubeconfigOut, server.kubeconfig(), { mode: 0o600 });
    logger.info({ file: options.kubeconfigOut }, 'kubeconfig written');
  }
  console.log(server.url);
  logger.info(
    { url: server.url },
    'development API server listening (development only: no auth, no persistence)',
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'shutting down');
  await server.close();
  return 0;
}
