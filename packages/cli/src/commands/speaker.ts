/**
 * `portico speaker`: makes the allocated IPs reachable from this node (see docs/speaker.md).
 * In a pod it takes NODE_NAME from the downward API and the in-cluster API credentials; outside
 * a cluster (the lab's node namespaces) pass --kubeconfig and --node-name.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Speaker as BgpSpeaker } from '@portico/bgp';
import { connectKube, startOpsServer } from '@portico/kube';
import { Announcer } from '@portico/layer2';
import { LazyLayer2, openUdpTransport, Speaker } from '@portico/speaker';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { portArg } from '../args.js';
import { createLogger } from '../logger.js';

const usage = `usage: portico speaker [--kubeconfig FILE] [--node-name NAME] [--namespace NS] [--config-map NAME]
                       [--bind-address ADDR] [--memberlist-port N] [--interfaces IF1,IF2]
                       [--metrics-port N] [--metrics-address ADDR]
                       [--heartbeat-interval MS] [--suspicion-timeout MS] [--memberlist-secret-file FILE]
                       [--probe-wait MS]

  --node-name NAME          this node (default: $NODE_NAME)
  --bind-address ADDR       address of the heartbeat socket (default: all addresses)
  --memberlist-port N       UDP port of the speakers' heartbeats (default 7946)
  --interfaces IF1,IF2      answer ARP/NDP only on these interfaces (default: every suitable one)
  --metrics-port N          /metrics, /healthz, /readyz (default 7472)
  --metrics-address ADDR    address of that server (default: all addresses)
  --heartbeat-interval MS   default 100
  --suspicion-timeout MS    a voter grants an IP to a new owner only after hearing nothing from the
                            old one for this long; the owner's own lease (when it stops answering)
                            is shorter: timeout − max(interval, timeout/5) (default 500, at least 300)
  --memberlist-secret-file FILE  authenticate heartbeats with this shared secret
                            (default: $PORTICO_MEMBERLIST_SECRET when set)
  --probe-wait MS           before answering for a layer-2 IP, send one ARP/DAD probe and listen
                            this long for another owner (default 0: no probe; conflicts are
                            still detected and logged while answering). It adds to failover time.`;

function millis(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 10) throw new Error(`--${name}: want milliseconds >= 10, not ${text}`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  let flags;
  try {
    const { values } = parseArgs({
      args,
      options: {
        kubeconfig: { type: 'string' },
        'node-name': { type: 'string', default: process.env.NODE_NAME ?? '' },
        namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'portico-system' },
        'config-map': { type: 'string', default: 'config' },
        'bind-address': { type: 'string', default: '' },
        'memberlist-port': { type: 'string', default: '7946' },
        interfaces: { type: 'string', default: '' },
        'metrics-port': { type: 'string', default: '7472' },
        'metrics-address': { type: 'string', default: '0.0.0.0' },
        'heartbeat-interval': { type: 'string', default: '100' },
        'suspicion-timeout': { type: 'string', default: '500' },
        'memberlist-secret-file': { type: 'string' },
        'probe-wait': { type: 'string', default: '0' },
      },
    });
    if (!values['node-name']) throw new Error('--node-name (or NODE_NAME) is required');
    const bind = values['bind-address'];
    if (bind && !isIP(bind)) throw new Error(`--bind-address: not an IP address: ${bind}`);
    const secretText = values['memberlist-secret-file']
      ? readFileSync(values['memberlist-secret-file'], 'utf8').trim()
      : process.env.PORTICO_MEMBERLIST_SECRET;
    const probeWait = Number(values['probe-wait']);
    if (!Number.isFinite(probeWait) || probeWait < 0)
      throw new Error(`--probe-wait: want milliseconds >= 0, not ${values['probe-wait']}`);
    flags = {
      probeWait,
      kubeconfig: values.kubeconfig ?? process.env.KUBECONFIG,
      nodeName: values['node-name'],
      namespace: values.namespace,
      configMap: values['config-map'],
      bind,
      memberlistPort: portArg(values['memberlist-port'], 'memberlist-port'),
      interfaces: values.interfaces.split(',').filter((s) => s.length > 0),
      metricsPort: portArg(values['metrics-port'], 'metrics-port'),
      metricsAddress: values['metrics-address'],
      intervalMs: millis(values['heartbeat-interval'], 'heartbeat-interval'),
      suspicionMs: millis(values['suspicion-timeout'], 'suspicion-timeout'),
      secret: secretText ? Buffer.from(secretText, 'utf8') : undefined,
    };
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }

  const log = createLogger('speaker').child({ node: flags.nodeName });
  const api = connectKube(flags.kubeconfig);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const transport = await openUdpTransport(flags.bind, flags.memberlistPort);
  log.info({ address: flags.bind || '::', port: transport.port }, 'heartbeat socket listening');

  const layer2 = new LazyLayer2(
    () =>
      new Announcer({
        ...(flags.interfaces.length > 0 ? { interfaces: flags.interfaces } : {}),
        probe: flags.probeWait > 0 ? { count: 1, intervalMs: 0, waitMs: flags.probeWait } : false,
        registry,
        logger: log.child({ module: 'layer2' }),
      }),
  );
  const speaker = new Speaker({
    api,
    nodeName: flags.nodeName,
    namespace: flags.namespace,
    configMapName: flags.configMap,
    logger: log,
    registry,
    layer2,
    createBgp: (localAsn) => new BgpSpeaker({ localAsn, registry, logger: log.child({ module: 'bgp' }) }),
    transport,
    memberlistPort: flags.memberlistPort,
    // In a pod (downward API): the owner of the status objects, so they go with the Pod.
    ...(process.env.POD_NAME && process.env.POD_UID
      ? { ownerPod: { name: process.env.POD_NAME, uid: process.env.POD_UID } }
      : {}),
    heartbeatIntervalMs: flags.intervalMs,
    suspicionMs: flags.suspicionMs,
    ...(flags.secret ? { secret: flags.secret } : {}),
  });
  const ops = await startOpsServer({
    port: flags.metricsPort,
    host: flags.metricsAddress,
    registry,
    ready: () => speaker.ready,
  });
  log.info({ port: ops.port }, 'metrics and health endpoints listening');

  return new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = async (code: number) => {
      if (closing) return;
      closing = true;
      log.info('stopping: withdrawing announcements');
      await speaker.stop();
      await transport.close();
      await ops.close();
      resolve(code);
    };
    process.once('SIGINT', () => void shutdown(0));
    process.once('SIGTERM', () => void shutdown(0));
    speaker.start().then(
      () => log.info('caches synced, speaker running'),
      (err: unknown) => {
        log.error({ err: String(err) }, 'speaker failed');
        void shutdown(1);
      },
    );
  });
}
