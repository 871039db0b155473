/**
 * Memory benchmark: Portico's speaker against MetalLB's (v0.15.2, from the Go module proxy), one
 * after the other against the same real kube-apiserver, announcing BENCH_IPS layer-2 IPs.
 *
 * Everything runs in a network namespace this script creates (pmem-bench, or BENCH_NETNS; a veth pair
 * pmem-v0/pmem-v1), so the ARP both speakers answer and send never leaves it. The Services get
 * their IPs and EndpointSlices from the benchmark itself (a bare kube-apiserver has no
 * controllers): one node, every Service with a ready endpoint on it.
 *
 * For each speaker: RSS idle (no Services, settled), then started against all BENCH_IPS Services:
 * time until all are announced (its own metric), peak RSS, TCP connections to the API server, and
 * RSS and live heap once settled (see @portico/testbed/measure). MetalLB runs without memberlist
 * (no --ml-bindport), which its layer-2 mode allows: every node is then assumed to run a speaker.
 *
 * Needs root and ip(8). Run: npx tsc -b && node packages/speaker/bench/memory.ts
 *      (BENCH_IPS=1000 for a quick run, BENCH_SETTLE_SECONDS=N)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLoopedNetns, deleteNetns } from '@portico/testbed';
import { ensureMetallbBinaries, type KubeApiServer, startKubeApiServer } from '@portico/dev-kube-apiserver';
import {
  Client,
  gauge,
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
  shippedNodeOptions,
  sleep,
  until,
} from '@portico/testbed/measure';

// BENCH_NETNS runs a second copy beside a first.
const NETNS = process.env.BENCH_NETNS ?? 'pmem-bench';
const count = Number(process.env.BENCH_IPS ?? 10_000);
const settleMs = Number(process.env.BENCH_SETTLE_SECONDS ?? 20) * 1000;
const node = 'bench-node';
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');

const ipOf = (i: number) => `198.18.${(i + 256) >> 8}.${(i + 256) & 255}`;

interface Contender {
  name: string;
  start(): { process: Launched; metricsPort: number };
  announced(metricsText: string): number;
  liveHeapMiB(process: Launched, metricsPort: number): Promise<number>;
}

async function waitForMetrics(port: number): Promise<void> {
  await until(
    `metrics on ${port}`,
    () =>
      metrics(port).then(
        () => true,
        () => false,
      ),
    60_000,
  );
}

async function idle(c: Contender): Promise<number> {
  const { process: p, metricsPort } = c.start();
  await waitForMetrics(metricsPort);
  await sleep(settleMs);
  const rss = rssMiB(p.child.pid!);
  await p.stop();
  progress(`${c.name}: idle ${round(rss)} MiB`);
  return rss;
}

async function atScale(c: Contender, server: KubeApiServer) {
  const { process: p, metricsPort } = c.start();
  const watch = sampler(p.child.pid!, server.port);
  const started = performance.now();
  await waitForMetrics(metricsPort);
  await until(
    `${c.name} to announce ${count} IPs`,
    async () => c.announced(await metrics(metricsPort)) === count,
    1_800_000,
    500,
  );
  const announcedSeconds = (performance.now() - started) / 1000;
  progress(`${c.name}: all ${count} announced; settling`);
  await sleep(settleMs);
  watch.stop();
  const settled = rssMiB(p.child.pid!);
  const liveHeap = await c.liveHeapMiB(p, metricsPort);
  await p.stop();
  return {
    announcedSeconds: round(announcedSeconds),
    peakRssMiB: round(watch.peak.rssMiB),
    settledRssMiB: round(settled),
    liveHeapMiB: round(liveHeap),
    peakApiConnections: watch.peak.sockets,
  };
}

async function inside(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-speaker-memory-'));
  let server: KubeApiServer | undefined;
  let client: Client | undefined;
  try {
    const metallb = await ensureMetallbBinaries({ progress });
    server = await startKubeApiServer({ progress });
    client = new Client(server, 32);
    const api = client.req.bind(client);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfig());
    for (const name of ['portico-system', 'metallb-system'])
      await api('POST', '/api/v1/namespaces', { metadata: { name } });
    installMetallbCrds(server, kubeconfig, metallb.sourceDir);
    // The annotation tells other Portico speakers where this one's heartbeats come from.
    await api('POST', '/api/v1/nodes', {
      metadata: { name: node, annotations: { 'portico.dev/speaker-address': '127.0.0.1:7946' } },
    });

    // MetalLB's speaker reads its own Pod at start-up (it owns the ServiceL2Status objects).
    await api('POST', '/api/v1/namespaces/metallb-system/pods', {
      metadata: { name: 'speaker-bench' },
      spec: { nodeName: node, containers: [{ name: 'speaker', image: 'quay.io/metallb/speaker:v0.15.2' }] },
    });

    const pool = '198.18.0.0/15';
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
      spec: { ipAddressPools: ['bench'], interfaces: ['pmem-v0'] },
    });

    const portico: Contender = {
      name: 'Portico speaker',
      start: () => ({
        metricsPort: 17490,
        process: launch(
          [
            process.execPath,
            '--inspect-port=127.0.0.1:0',
            cli,
            'speaker',
            '--kubeconfig',
            kubeconfig,
            '--node-name',
            node,
            '--bind-address',
            '127.0.0.1',
            '--memberlist-port',
            '7946',
            '--metrics-port',
            '17490',
            '--metrics-address',
            '127.0.0.1',
            '--interfaces',
            'pmem-v0',
          ],
          // The V8 flags the manifest ships (manifests/speaker/daemonset.yaml).
          { LOG_LEVEL: 'error', NODE_OPTIONS: shippedNodeOptions('speaker') },
        ),
      }),
      announced: (text) => gauge(text, 'portico_speaker_announced{protocol="layer2"}') ?? 0,
      liveHeapMiB: (p) => nodeLiveHeapMiB(p),
    };
    const metallbSpeaker: Contender = {
      name: 'MetalLB speaker',
      start: () => ({
        metricsPort: 17491,
        process: launch(
          [
            metallb.speaker,
            '--namespace=metallb-system',
            `--node-name=${node}`,
            '--pod-name=speaker-bench',
            '--host=127.0.0.1',
            '--port=17491',
            '--enable-pprof',
            '--log-level=error',
          ],
          // No METALLB_ML_* variables: memberlist stays off.
          { KUBECONFIG: kubeconfig },
        ),
      }),
      // One series per announced Service, valued 1.
      announced: (text) =>
        text.split('\n').filter((l) => l.startsWith('metallb_speaker_announced{') && l.endsWith(' 1')).length,
      liveHeapMiB: (_p, port) => goLiveHeapMiB(port),
    };

    const idleRss = { portico: await idle(portico), metallb: await idle(metallbSpeaker) };

    progress(`creating ${count} Services with an IP and a ready endpoint on ${node}`);
    await seedServices(client, { namespace: 'default', count, endpointsOn: node, ip: ipOf });

    const p = await atScale(portico, server);
    const m = await atScale(metallbSpeaker, server);
    const ratio = (a: number, b: number) => round(a / b);
    console.log(
      JSON.stringify(
        {
          ips: count,
          kubeApiserver: server.version,
          metallb: metallb.version,
          node: process.version,
          results: {
            'Portico speaker': { idleRssMiB: round(idleRss.portico), ...p },
            'MetalLB speaker': { idleRssMiB: round(idleRss.metallb), ...m },
          },
          porticoOverMetallb: {
            idleRss: ratio(idleRss.portico, idleRss.metallb),
            peakRss: ratio(p.peakRssMiB, m.peakRssMiB),
            settledRss: ratio(p.settledRssMiB, m.settledRssMiB),
            liveHeap: ratio(p.liveHeapMiB, m.liveHeapMiB),
            announcedTime: ratio(p.announcedSeconds, m.announcedSeconds),
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
}

if (process.env.PMEM_INSIDE) {
  await inside();
} else {
  if (process.getuid?.() !== 0)
    throw new Error('the speaker memory benchmark needs root (network namespace)');
  createLoopedNetns(
    NETNS,
    { link: 'pmem-v0', addresses: ['198.18.0.1/15'] },
    { link: 'pmem-v1', addresses: [] },
  );
  try {
    execFileSync('ip', ['netns', 'exec', NETNS, process.execPath, import.meta.filename], {
      stdio: 'inherit',
      env: { ...process.env, PMEM_INSIDE: '1' },
    });
  } finally {
    deleteNetns(NETNS);
  }
}
