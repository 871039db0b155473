/**
 * Memory benchmark: Portico's controller against MetalLB's (v0.15.2, built from the Go module
 * proxy), one after the other against the same real kube-apiserver, on this machine, in this run.
 *
 * For each controller: RSS when idle (started, synced, settled), then a burst of BENCH_SERVICES
 * LoadBalancer Services created as fast as the API server takes them: the time until every one has
 * an IP, peak RSS, the most TCP connections the process held open to the API server at once (from
 * /proc/PID/fd and /proc/net/tcp), and RSS and live heap once settled. Live heap is measured after
 * a forced collection: for Node through the inspector (opened with SIGUSR1 only after the RSS
 * readings, so it costs nothing before), for Go through pprof's `heap?gc=1` and the
 * go_memstats_heap_alloc_bytes gauge. Between the two runs the Services are deleted.
 *
 * MetalLB gets the equivalent of Portico's ConfigMap: one IPAddressPool and one L2Advertisement,
 * with its CRDs installed from the module's own config/crd/bases. Its webhook is off
 * (--webhook-mode=disabled): a bare kube-apiserver has nothing to call it.
 *
 * Run: npx tsc -b && npm run bench:memory -w @portico/controller
 *      (BENCH_SERVICES=1000 for a quick run, BENCH_SETTLE_SECONDS=N to change the settling wait)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMetallbBinaries, type KubeApiServer, startKubeApiServer } from '@portico/dev-kube-apiserver';
import {
  Client,
  goLiveHeapMiB,
  installMetallbCrds,
  killAll,
  launch,
  type Launched,
  metrics,
  nodeLiveHeapMiB,
  progress,
  round,
  rssMiB,
  sampler,
  seedServices,
  servicesWithIp,
  shippedNodeOptions,
  sleep,
  until,
} from '@portico/testbed/measure';

const count = Number(process.env.BENCH_SERVICES ?? 10_000);
const settleMs = Number(process.env.BENCH_SETTLE_SECONDS ?? 20) * 1000;
const namespace = 'bench';
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');
const dir = mkdtempSync(join(tmpdir(), 'portico-memory-bench-'));

let server: KubeApiServer | undefined;
let client: Client | undefined;
const api = (method: string, path: string, body?: unknown) => client!.req(method, path, body);

/** Events in the namespace not counted before, by component and reason (they outlive the Services). */
const seenEvents = new Set<string>();
async function newEventsByReason(): Promise<Record<string, number>> {
  const list = (await api('GET', `/api/v1/namespaces/${namespace}/events`)) as {
    items: Array<{ metadata: { uid: string }; reason?: string; source?: { component?: string } }>;
  };
  const byReason: Record<string, number> = {};
  for (const e of list.items) {
    if (seenEvents.has(e.metadata.uid)) continue;
    seenEvents.add(e.metadata.uid);
    const key = `${e.source?.component ?? ''}/${e.reason ?? ''}`;
    byReason[key] = (byReason[key] ?? 0) + 1;
  }
  return byReason;
}

// ---------------------------------------------------------------- one controller's run

interface Contender {
  name: string;
  start(): { process: Launched; metricsPort: number };
  liveHeapMiB(process: Launched, metricsPort: number): Promise<number>;
}

async function measure(c: Contender) {
  progress(`${c.name}: starting`);
  const { process: p, metricsPort } = c.start();
  const pid = p.child.pid!;
  await until(
    `${c.name}'s metrics endpoint`,
    () =>
      metrics(metricsPort).then(
        () => true,
        () => false,
      ),
    60_000,
  );
  await sleep(settleMs);
  const idleRssMiB = rssMiB(pid);
  progress(`${c.name}: idle ${round(idleRssMiB)} MiB; creating ${count} Services`);

  const watch = sampler(pid, server!.port);
  const started = performance.now();
  await seedServices(client!, { namespace, count });
  const created = performance.now();
  // MetalLB's client keeps client-go's default limit of 20 requests/s, so it needs minutes.
  await until(
    'every Service to get an IP',
    async () => (await servicesWithIp(client!, namespace)) === count,
    3_600_000,
    500,
  );
  const finished = performance.now();
  progress(`${c.name}: all ${count} assigned; settling`);
  // Peak RSS includes the settling time: writing Events and status can lag the last IP.
  await sleep(settleMs);
  watch.stop();
  const settledRssMiB = rssMiB(pid);
  const liveHeapMiB = await c.liveHeapMiB(p, metricsPort);
  const events = await newEventsByReason();
  await p.stop();

  progress(`${c.name}: deleting the Services`);
  await client!.lanes(count, (i) => api('DELETE', `/api/v1/namespaces/${namespace}/services/svc-${i}`));
  return {
    idleRssMiB: round(idleRssMiB),
    createSeconds: round((created - started) / 1000),
    allAssignedSeconds: round((finished - started) / 1000),
    afterLastCreateSeconds: round((finished - created) / 1000),
    peakRssMiB: round(watch.peak.rssMiB),
    settledRssMiB: round(settledRssMiB),
    liveHeapMiB: round(liveHeapMiB),
    peakApiConnections: watch.peak.sockets,
    /** Events on the burst's Services by reason, listed once settled: how many were written. */
    events,
  };
}

// ---------------------------------------------------------------- the run

try {
  const metallb = await ensureMetallbBinaries({ progress });
  server = await startKubeApiServer({ progress });
  client = new Client(server);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfig());
  for (const name of ['portico-system', 'metallb-system', namespace])
    await api('POST', '/api/v1/namespaces', { metadata: { name } });
  installMetallbCrds(server, kubeconfig, metallb.sourceDir);

  // The same pool for both: 198.18.0.0/16 announced over layer 2.
  const pool = '198.18.0.0/16';
  await api('POST', '/api/v1/namespaces/portico-system/configmaps', {
    metadata: { name: 'config' },
    data: { config: `address-pools:\n  - name: bench\n    protocol: layer2\n    addresses: [${pool}]\n` },
  });
  await api('POST', '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'bench' },
    spec: { addresses: [pool] },
  });
  await api('POST', '/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'bench' },
    spec: { ipAddressPools: ['bench'] },
  });

  const portico: Contender = {
    name: 'Portico controller',
    start: () => ({
      metricsPort: 17480,
      process: launch(
        [
          process.execPath,
          // Lets SIGUSR1 open the inspector on a free port for the live-heap reading at the end.
          '--inspect-port=127.0.0.1:0',
          cli,
          'controller',
          '--kubeconfig',
          kubeconfig,
          '--no-leader-elect',
          '--metrics-port',
          '17480',
        ],
        // The V8 flags the manifest ships (manifests/base/controller.yaml).
        { LOG_LEVEL: 'error', NODE_OPTIONS: shippedNodeOptions('controller') },
      ),
    }),
    liveHeapMiB: (p) => nodeLiveHeapMiB(p),
  };
  const metallbController: Contender = {
    name: 'MetalLB controller',
    start: () => ({
      metricsPort: 17481,
      process: launch(
        [
          metallb.controller,
          '--namespace=metallb-system',
          '--webhook-mode=disabled',
          '--disable-cert-rotation',
          '--port=17481',
          '--enable-pprof',
          '--log-level=error',
        ],
        { KUBECONFIG: kubeconfig },
      ),
    }),
    liveHeapMiB: (_p, port) => goLiveHeapMiB(port),
  };

  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const c of [portico, metallbController]) results[c.name] = await measure(c);
  const p = results[portico.name]!;
  const m = results[metallbController.name]!;
  const ratio = (a: number, b: number) => round(a / b);
  console.log(
    JSON.stringify(
      {
        services: count,
        kubeApiserver: server.version,
        metallb: metallb.version,
        node: process.version,
        results,
        porticoOverMetallb: {
          idleRss: ratio(p.idleRssMiB, m.idleRssMiB),
          peakRss: ratio(p.peakRssMiB, m.peakRssMiB),
          settledRss: ratio(p.settledRssMiB, m.settledRssMiB),
          liveHeap: ratio(p.liveHeapMiB, m.liveHeapMiB),
          allAssignedTime: ratio(p.allAssignedSeconds, m.allAssignedSeconds),
        },
      },
      null,
      2,
    ),
  );
} finally {
  killAll();
  client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}
