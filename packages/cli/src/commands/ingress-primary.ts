/**
 * The cluster primary of `portico ingress` (see ingress.ts): Kubernetes watches, compiling,
 * status, metrics; it forks the --workers serving processes.
 */
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import {
  BatchedLines,
  ClusterRegistry,
  CONTROLLER_NAME,
  DEFAULT_CLASS_NAME,
  defaultHsts,
  gatewayApi,
  hstsValue,
  IngressController,
  IngressServer,
  InProcessSink,
  parseProxyProtocolPorts,
  ProxyMetrics,
  selfSignedPair,
  TrustedProxies,
  WorkerPool,
  type TableSink,
} from '@portico/ingress';
import { LeaderElector, connectKube, startOpsServer } from '@portico/kube';
import pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { portArg, secondsArg } from '../args.js';
import { createLogger } from '../logger.js';

const usage = `usage: portico ingress [--kubeconfig FILE] [--http-port 80] [--https-port 443] [--metrics-port 10254]
                       [--listen-address 0.0.0.0] [--publish-service NS/NAME] [--workers N]
                       [--ingress-class portico] [--max-body-size BYTES] [--no-access-log]
                       [--no-leader-elect] [--identity ID] [--shutdown-delay 5] [--shutdown-grace 20]
                       [--proxy-protocol all|none|PORT,...] [--trusted-proxies CIDR,...]
                       [--gateway-address ADDR] [--gateway-services] [--no-hsts] [--hsts-max-age 31536000]
                       [--no-hsts-include-subdomains] [--hsts-preload] [--access-log-format json|combined]`;

export async function runPrimary(args: string[]): Promise<number> {
  let values;
  let ports;
  let proxyProtocol;
  let trustedProxies: string[];
  try {
    values = parseArgs({
      args,
      allowNegative: true,
      options: {
        kubeconfig: { type: 'string' },
        'http-port': { type: 'string', default: '80' },
        'https-port': { type: 'string', default: '443' },
        'metrics-port': { type: 'string', default: '10254' },
        'listen-address': { type: 'string', default: '0.0.0.0' },
        'publish-service': { type: 'string', default: 'portico-system/ingress' },
        workers: { type: 'string', default: String(availableParallelism()) },
        'ingress-class': { type: 'string', default: DEFAULT_CLASS_NAME },
        'max-body-size': { type: 'string', default: String(1024 * 1024) },
        'access-log': { type: 'boolean', default: true },
        'access-log-format': { type: 'string', default: 'json' },
        'leader-elect': { type: 'boolean', default: true },
        identity: { type: 'string', default: process.env.POD_NAME ?? `${hostname()}-${process.pid}` },
        namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'portico-system' },
        'shutdown-delay': { type: 'string', default: '5' },
        'shutdown-grace': { type: 'string', default: '20' },
        'proxy-protocol': { type: 'string', default: 'none' },
        'trusted-proxies': { type: 'string', default: '' },
        'gateway-address': { type: 'string' },
        'gateway-services': { type: 'boolean', default: false },
        hsts: { type: 'boolean', default: true },
        'hsts-max-age': { type: 'string', default: String(defaultHsts.maxAge) },
        'hsts-include-subdomains': { type: 'boolean', default: defaultHsts.includeSubDomains },
        'hsts-preload': { type: 'boolean', default: defaultHsts.preload },
      },
    }).values;
    ports = {
      http: portArg(values['http-port'], 'http-port'),
      https: portArg(values['https-port'], 'https-port'),
      metrics: portArg(values['metrics-port'], 'metrics-port'),
    };
    if (!/^[^/]+\/[^/]+$/.test(values['publish-service']))
      throw new Error('--publish-service: expected NAMESPACE/NAME');
    if (!/^\d+$/.test(values.workers)) throw new Error(`--workers: not a number: ${values.workers}`);
    if (!/^\d+$/.test(values['max-body-size'])) throw new Error('--max-body-size: not a number of bytes');
    if (values['access-log-format'] !== 'json' && values['access-log-format'] !== 'combined')
      throw new Error(
        `--access-log-format: expected json or combined, got ${JSON.stringify(values['access-log-format'])}`,
      );
    if (!/^\d{1,10}$/.test(values['hsts-max-age']))
      throw new Error(`--hsts-max-age: not a number of seconds: ${JSON.stringify(values['hsts-max-age'])}`);
    for (const f of ['shutdown-delay', 'shutdown-grace'] as const) secondsArg(values[f], f);
    proxyProtocol = parseProxyProtocolPorts(values['proxy-protocol'], ports.http, ports.https);
    trustedProxies = values['trusted-proxies']
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    // Throws naming the first entry that is not an address or CIDR.
    new TrustedProxies(trustedProxies, '--trusted-proxies');
    const gatewayAddress = values['gateway-address'];
    if (gatewayAddress !== undefined && isIP(gatewayAddress) === 0)
      throw new Error(`--gateway-address: not an IP address: ${JSON.stringify(gatewayAddress)}`);
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }

  const log = createLogger('ingress');
  const api = connectKube(values.kubeconfig ?? process.env.KUBECONFIG);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const workers = Number(values.workers);
  const hsts = values.hsts
    ? hstsValue({
        maxAge: Number(values['hsts-max-age']),
        includeSubDomains: values['hsts-include-subdomains'],
        preload: values['hsts-preload'],
      })
    : undefined;
  const proxy = {
    maxBodyBytes: Number(values['max-body-size']),
    httpsPort: ports.https,
    trustedProxies,
    hsts,
    accessLogFormat: values['access-log-format'] as 'json' | 'combined',
  };
  const defaultCert = selfSignedPair();

  // Gateway API: every listener of our Gateways served on --gateway-address at its own port; with
  // --gateway-services each Gateway also gets a LoadBalancer Service (its address from our pools)
  // in front of this Deployment's pods, which then serve the listeners on --listen-address.
  const gatewayAddress =
    values['gateway-address'] ?? (values['gateway-services'] ? values['listen-address'] : undefined);
  let sink: TableSink;
  let pool: WorkerPool | undefined;
  let metricsRegistry: () => Registry;
  /** Request metrics of the in-process proxy (workers 0), shared with the Gateway proxy. */
  let proxyMetrics: ProxyMetrics | undefined;
  // The in-process proxies' access-log lines, batched per turn of the event loop (workers make their own).
  const accessLines = values['access-log'] ? new BatchedLines() : undefined;
  if (workers === 0) {
    const metrics = new ProxyMetrics();
    proxyMetrics = metrics;
    const server = new IngressServer({
      host: values['listen-address'],
      httpPort: ports.http,
      httpsPort: ports.https,
      defaultCert,
      proxyProtocol,
      proxy: {
        ...proxy,
        metrics,
        logger: accessLines ? pino({ name: 'access' }, accessLines) : undefined,
        log,
        accessLogStream: accessLines,
      },
    });
    await server.listen();
    sink = new InProcessSink(server);
    // Merged once every metric is registered (Registry.merge copies the metrics it sees).
    metricsRegistry = () => Registry.merge([registry, metrics.registry]);
  } else {
    const config = {
      host: values['listen-address'],
      httpPort: ports.http,
      httpsPort: ports.https,
      defaultCert,
      proxyProtocol,
      accessLog: values['access-log'],
      proxy,
      gatewayAddress,
    };
    sink = pool = new WorkerPool({ count: workers, config, logger: log });
    metricsRegistry = () => new ClusterRegistry(registry);
  }

  let shuttingDown = false;
  const controller = new IngressController({
    api,
    sink,
    logger: log,
    registry,
    publishService: values['publish-service'],
    className: values['ingress-class'],
    controllerName: CONTROLLER_NAME,
    debounceMs: 10,
    statusResyncMs: 60_000,
  });
  // The Gateway listeners are served where the Ingress ports are: in the workers when there are.
  const gateway =
    gatewayAddress === undefined
      ? undefined
      : new gatewayApi.GatewayController({
          api,
          address: gatewayAddress,
          reportAddress: values['gateway-address'] !== undefined,
          reservedPorts: gatewayApi.reservedGatewayPorts({
            gatewayAddress,
            listenAddress: values['listen-address'],
            httpPort: ports.http,
            httpsPort: ports.https,
            metricsPort: ports.metrics,
          }),
          ...(values['gateway-services'] ? { gatewayServicesFrom: values['publish-service'] } : {}),
          ...(pool ? { sink: pool.gatewaySink() } : {}),
          logger: log,
          registry,
          debounceMs: 10,
          statusResyncMs: 60_000,
          proxy: {
            ...proxy,
            metrics: proxyMetrics,
            logger: accessLines ? pino({ name: 'access' }, accessLines) : undefined,
            log,
            accessLogStream: accessLines,
          },
        });
  const ops = await startOpsServer({
    port: ports.metrics,
    registry: metricsRegistry(),
    ready: () => !shuttingDown && controller.synced && sink.ready(),
  });
  log.info({ http: ports.http, https: ports.https, metrics: ops.port, workers }, 'ingress starting');

  const elector = values['leader-elect']
    ? new LeaderElector(api, {
        namespace: values.namespace,
        name: 'portico-ingress',
        identity: values.identity,
      })
    : undefined;
  elector?.on('started', () => {
    controller.setLeading(true);
    gateway?.setLeading(true);
  });
  elector?.on('stopped', () => {
    controller.setLeading(false);
    gateway?.setLeading(false);
  });
  elector?.on('error', (err: unknown) => log.warn({ err: String(err) }, 'leader election request failed'));

  const done = new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = async (code: number) => {
      if (closing) return;
      closing = true;
      // Fail readiness first and keep serving while the pod leaves the Service's endpoints,
      // then stop accepting and give requests in flight time to finish.
      shuttingDown = true;
      log.info('shutting down: not ready, draining');
      await new Promise((r) => setTimeout(r, Number(values['shutdown-delay']) * 1000));
      await elector?.stop();
      await controller.stop();
      // The Gateway listeners drain beside the Ingress ports (here with --workers 0; the workers
      // drain their own when the pool stops them).
      const graceMs = Number(values['shutdown-grace']) * 1000;
      await Promise.all([gateway?.stop(graceMs), sink.stop(graceMs)]);
      await ops.close();
      resolve(code);
    };
    process.once('SIGINT', () => void shutdown(0));
    process.once('SIGTERM', () => void shutdown(0));
  });
  await controller.start();
  log.info('caches synced, routing table published');
  // Not awaited: without the Gateway API CRDs installed the Gateway watches retry (and warn)
  // until they are, and Ingress is served meanwhile.
  void gateway?.start().then(() => log.info({ address: gatewayAddress }, 'Gateway API caches synced'));
  if (elector) elector.start();
  else {
    controller.setLeading(true);
    gateway?.setLeading(true);
  }
  return done;
}
