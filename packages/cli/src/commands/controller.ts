import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Controller } from '@portico/controller';
import { LeaderElector, connectKube, startOpsServer } from '@portico/kube';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { portArg, secondsArg } from '../args.js';
import { createLogger } from '../logger.js';

const usage = `usage: portico controller [--kubeconfig FILE] [--namespace NS] [--config-map NAME]
                          [--metrics-port N] [--no-leader-elect] [--identity ID]`;

export async function run(args: string[]): Promise<number> {
  let values;
  let metricsPort;
  let leaseDurationMs;
  try {
    values = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'portico-system' },
        'config-map': { type: 'string', default: 'config' },
        'metrics-port': { type: 'string', default: '7472' },
        'no-leader-elect': { type: 'boolean', default: false },
        identity: { type: 'string', default: process.env.POD_NAME ?? `${hostname()}-${process.pid}` },
        'lease-duration': { type: 'string', default: '4' },
      },
    }).values;
    metricsPort = portArg(values['metrics-port'], 'metrics-port');
    leaseDurationMs = secondsArg(values['lease-duration'], 'lease-duration');
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  const log = createLogger('controller');
  const api = connectKube(values.kubeconfig ?? process.env.KUBECONFIG);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const controller = new Controller({
    api,
    namespace: values.namespace,
    configMapName: values['config-map'],
    logger: log,
    registry,
  });
  let leading = values['no-leader-elect'];
  const ops = await startOpsServer({
    port: metricsPort,
    registry,
    ready: () => !leading || controller.ready,
  });
  log.info({ port: ops.port }, 'metrics and health endpoints listening');

  const elector = values['no-leader-elect']
    ? undefined
    : new LeaderElector(api, {
        namespace: values.namespace,
        name: 'portico-controller',
        identity: values.identity,
        leaseDurationMs,
      });

  const done = new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = async (code: number) => {
      if (closing) return;
      closing = true;
      await elector?.stop();
      await controller.stop();
      await ops.close();
      resolve(code);
    };
    process.once('SIGINT', () => void shutdown(0));
    process.once('SIGTERM', () => void shutdown(0));
    elector?.on('leader', (holder: string) => log.info({ leader: holder }, 'observed leader'));
    elector?.on('error', (err: unknown) => log.warn({ err: String(err) }, 'leader election request failed'));
    elector?.on('started', () => {
      leading = true;
      log.info({ identity: values.identity }, 'became leader, starting');
      controller.start().catch((err: unknown) => {
        log.error({ err: String(err) }, 'controller failed');
        void shutdown(1);
      });
    });
    // A replica that lost the lease may be behind the new leader: exit and come back as standby.
    elector?.on('stopped', () => {
      log.error('lost leadership, exiting');
      void shutdown(1);
    });
  });
  if (elector) elector.start();
  else await controller.start();
  return done;
}
