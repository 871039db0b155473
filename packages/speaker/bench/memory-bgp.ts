/**
 * Memory benchmark with a real BGP router (issue 12): Portico's controller, speaker and ingress,
 * and MetalLB's speaker, against the same real kube-apiserver, with GoBGP's gobgpd (Debian) as the
 * router every speaker announces to. Everything runs in a network namespace this script creates
 * (p12-mem): gobgpd listens there on 192.0.2.1:179 (passive, eBGP AS 64512), the speakers
 * connect from 192.0.2.2 (AS 64513), both addresses on a veth pair in the namespace (p12-v0,
 * p12-v1; the kernel delivers locally): gobgpd treats routes with a loopback next hop as withdrawn.
 *
 * 1. Idle, each process started and settled with no Services: Portico's controller, speaker (BGP
 *    session up, nothing to announce) and ingress (primary + 2 workers), and MetalLB's speaker.
 * 2. Ramp, Portico's controller and speaker running: BENCH_IPS LoadBalancer Services from the BGP
 *    pool are created (each with a ready endpoint on the node; seedServices() in
 *    @portico/testbed/measure, shared with the controller's benchmark); the controller assigns
 *    the IPs, the speaker announces them. Done when every Service has an IP and gobgpd's
 *    `gobgp global rib summary` counts BENCH_IPS destinations. Peak RSS of both is sampled every
 *    100 ms from the first create until settled; then settled RSS and live heap.
 * 3. Restart: each speaker (Portico's, then MetalLB's in its native BGP mode) started alone
 *    against the BENCH_IPS Services that now have IPs, until gobgpd holds them all: peak, settled
 *    RSS and live heap. Between runs gobgpd is restarted, so each count starts from zero.
 *
 * RSS from /proc/PID/status; live heap after a forced collection (@portico/testbed/measure:
 * Node through the inspector, opened with SIGUSR1 only after the RSS readings; Go through pprof).
 * The ingress workers' inspectors are on the primary's fixed inspector port plus 1 and 2.
 *
 * BENCH_PROFILE=DIR: profile the Portico speaker's allocations during the ramp instead (the
 * inspector is opened before the ramp, so that run's memory figures are not comparable): V8's
 * sampling heap profiler including collected objects, written to DIR/speaker-ramp.heapprofile
 * (open it in Chrome DevTools, or summarise it with `node scripts/heapprofile-top.ts FILE`).
 *
 * Needs root, ip(8), gobgpd and gobgp. Run: npx tsc -b && npm run bench:memory -w @portico/speaker
 *      (BENCH_IPS=1000 for a quick run, BENCH_SETTLE_SECONDS=N, default 20)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMetallbBinaries, type KubeApiServer, startKubeApiServer } from '@portico/dev-kube-apiserver';
import {
  Client,
  cpuSeconds,
  goLiveHeapMiB,
  installMetallbCrds,
  killAll,
  launch,
  type Launched,
  liveHeapMiB,
  metrics,
  nodeLiveHeapMiB,
  openInspectorAt,
  progress,
  round,
  rssMiB,
  sampler,
  seedServices,
  shippedNodeOptions,
  servicesWithIp,
  sleep,
  until,
} from '@portico/testbed/measure';
import { createLoopedNetns, deleteNetns, gobgpConfig } from '@portico/testbed';
import { startInspector } from './inspector.ts';

// BENCH_NETNS runs a second copy beside a first (a profile beside a measurement).
const NETNS = process.env.BENCH_NETNS ?? 'p12-mem';
const count = Number(process.env.BENCH_IPS ?? 10_000);
const settleMs = Number(process.env.BENCH_SETTLE_SECONDS ?? 20) * 1000;
const profileDir = process.env.BENCH_PROFILE;
// BENCH_PORTICO_ONLY=1: only Portico's controller and speaker (no MetalLB, no ingress): quicker A/B runs.
const porticoOnly = process.env.BENCH_PORTICO_ONLY === '1';
/** How long each wait at scale may take. */
const timeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 600) * 1000;
const node = 'bench-node';
const namespace = 'default';
const ROUTER_ASN = 64512;
const NODE_ASN = 64513;
const pool = '198.18.0.0/15';
// On a veth pair in the namespace: gobgpd refuses a loopback next hop.
const ROUTER_IP = '192.0.2.1';
const NODE_IP = '192.0.2.2';
const cli = join(import.meta.dirname, '../../cli/bin/portico.js');

const ports = { controller: 17580, speaker: 17581, ingress: 17582, metallb: 17583, ingressInspector: 17590 };

// ---------------------------------------------------------------- the router

function gobgp(...args: string[]): string {
  return execFileSync('gobgp', args, { encoding: 'utf8', timeout: 10_000 });
}

/** Destinations in gobgpd's global IPv4 RIB, from `gobgp global rib summary`. */
function ribDestinations(): number {
  const m = /Destination:\s*(\d+)/.exec(gobgp('global', 'rib', 'summary', '-a', 'ipv4'));
  if (!m) throw new Error('gobgp global rib summary: no "Destination:" line');
  return Number(m[1]);
}

/** A fresh gobgpd with one passive neighbour, NODE_IP AS NODE_ASN; ready when its API answers. */
async function startRouter(dir: string): Promise<Launched> {
  const file = join(dir, 'gobgpd.toml');
  writeFileSync(
    file,
    gobgpConfig({
      asn: ROUTER_ASN,
      routerId: '192.0.2.1',
      neighbors: [
        { address: NODE_IP, peerAs: NODE_ASN, passive: { localAddress: ROUTER_IP }, families: ['ipv4'] },
      ],
    }),
  );
  const p = launch(['gobgpd', '-f', file, '--api-hosts', '127.0.0.1:50051', '-p', '--pprof-disable'], {});
  await until(
    'gobgpd',
    () => {
      try {
        gobgp('global');
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    100,
  );
  return p;
}

function sessionUp(): boolean {
  return /Establ/.test(gobgp('neighbor'));
}

/** Waits until `read()` gives `count`, telling how far it got every 10 s and when it gives up. */
async function reach(what: string, read: () => number | Promise<number>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = Date.now();
  for (;;) {
    const n = await read();
    if (n === count) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${count} after ${timeoutMs / 1000} s`);
    if (Date.now() - told > 10_000) {
      progress(`${what}: ${n} of ${count}`);
      told = Date.now();
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------- the processes

interface Started {
  name: string;
  process: Launched;
  metricsPort: number;
  liveHeapMiB(): Promise<number>;
}

/** Started with the V8 flags its manifest ships (NODE_OPTIONS, see shippedNodeOptions). */
function nodeProcess(name: string, args: string[], metricsPort: number, nodeOptions: string): Started {
  const p = launch(
    // SIGUSR1 then opens the inspector on a free port, for the live-heap reading at the end.
    [process.execPath, '--inspect-port=127.0.0.1:0', cli, ...args],
    { LOG_LEVEL: 'error', NODE_OPTIONS: nodeOptions },
  );
  return { name, process: p, metricsPort, liveHeapMiB: () => nodeLiveHeapMiB(p) };
}

const start = {
  controller: (kubeconfig: string) =>
    nodeProcess(
      'Portico controller',
      [
        'controller',
        '--kubeconfig',
        kubeconfig,
        '--no-leader-elect',
        '--metrics-port',
        String(ports.controller),
      ],
      ports.controller,
      shippedNodeOptions('controller'),
    ),
  speaker: (kubeconfig: string) =>
    nodeProcess(
      'Portico speaker',
      [
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
        String(ports.speaker),
        '--metrics-address',
        '127.0.0.1',
      ],
      ports.speaker,
      shippedNodeOptions('speaker'),
    ),
  // A fixed inspector port: node's cluster gives each worker the primary's port plus 1, 2, ...
  // (with port 0 the workers would get ports 1 and 2 and fail to start).
  ingress: (kubeconfig: string): Started => {
    const p = launch(
      [
        process.execPath,
        `--inspect-port=127.0.0.1:${ports.ingressInspector}`,
        cli,
        'ingress',
        '--kubeconfig',
        kubeconfig,
        '--listen-address',
        '127.0.0.1',
        '--http-port',
        '18080',
        '--https-port',
        '18443',
        '--metrics-port',
        String(ports.ingress),
        '--workers',
        '2',
        '--no-leader-elect',
        '--shutdown-delay',
        '0',
      ],
      { LOG_LEVEL: 'error' },
    );
    return {
      name: 'Portico ingress',
      process: p,
      metricsPort: ports.ingress,
      liveHeapMiB: async () => liveHeapMiB(await openInspectorAt(p.child.pid!, ports.ingressInspector)),
    };
  },
  metallb: (binary: string, kubeconfig: string): Started => {
    const p = launch(
      [
        binary,
        '--namespace=metallb-system',
        `--node-name=${node}`,
        '--pod-name=speaker-bench',
        '--host=127.0.0.1',
        `--port=${ports.metallb}`,
        '--enable-pprof',
        '--log-level=error',
      ],
      // No METALLB_ML_* variables: memberlist stays off. Native BGP (its default without FRR).
      { KUBECONFIG: kubeconfig },
    );
    return {
      name: 'MetalLB speaker',
      process: p,
      metricsPort: ports.metallb,
      liveHeapMiB: () => goLiveHeapMiB(ports.metallb),
    };
  },
};

async function ready(s: Started): Promise<void> {
  await until(
    `${s.name}'s metrics endpoint`,
    () =>
      metrics(s.metricsPort).then(
        () => true,
        () => false,
      ),
    60_000,
  );
}

/** The child processes of `pid` (the ingress workers). */
function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/**
 * MetalLB v0.15.2's BGPPeer schema gives the ASN fields `format: int32` with `maximum: 4294967295`,
 * which kube-apiserver v1.36 refuses at every create ("Maximum boundary value must be of type
 * integer with format int32"). The format is dropped where the maximum does not fit it, so the
 * schema says what MetalLB means (an unsigned 32-bit ASN); nothing else is changed.
 */
async function fixMetallbAsnSchema(client: Client): Promise<number> {
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io';
  const crd = (await client.req('GET', path)) as Record<string, unknown>;
  let fixed = 0;
  const walk = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    if (r.format === 'int32' && typeof r.maximum === 'number' && r.maximum > 2 ** 31 - 1) {
      delete r.format;
      fixed++;
    }
    for (const v of Object.values(r)) walk(v);
  };
  walk(crd.spec);
  await client.req('PUT', path, crd);
  return fixed;
}

// ---------------------------------------------------------------- the run

async function inside(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'p12-memory-bgp-'));
  let server: KubeApiServer | undefined;
  let client: Client | undefined;
  let router: Launched | undefined;
  const restartRouter = async () => {
    await router?.stop();
    router = await startRouter(dir);
  };
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
    progress(`MetalLB's BGPPeer schema: ${await fixMetallbAsnSchema(client)} ASN fields fixed`);
    await api('POST', '/api/v1/nodes', {
      metadata: { name: node, annotations: { 'portico.dev/speaker-address': '127.0.0.1:7946' } },
    });
    // MetalLB's speaker reads its own Pod at start-up.
    await api('POST', '/api/v1/namespaces/metallb-system/pods', {
      metadata: { name: 'speaker-bench' },
      spec: { nodeName: node, containers: [{ name: 'speaker', image: 'quay.io/metallb/speaker:v0.15.2' }] },
    });
    // The same pool and peer for both: 198.18.0.0/15 announced over BGP to gobgpd.
    await api('POST', '/api/v1/namespaces/portico-system/configmaps', {
      metadata: { name: 'config' },
      data: {
        config:
          `peers:\n  - peer-address: ${ROUTER_IP}\n    source-address: ${NODE_IP}\n` +
          `    peer-asn: ${ROUTER_ASN}\n    my-asn: ${NODE_ASN}\n` +
          `address-pools:\n  - name: bench\n    protocol: bgp\n    addresses: [${pool}]\n`,
      },
    });
    const metallbApi = '/apis/metallb.io/v1beta1/namespaces/metallb-system';
    await api('POST', `${metallbApi}/ipaddresspools`, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      // Not for assignment: no MetalLB controller runs; the Services get Portico's IPs.
      metadata: { name: 'bench' },
      spec: { addresses: [pool], autoAssign: false },
    });
    // The schema change takes a moment to reach the handler: retry the create briefly.
    await until(
      'a BGPPeer to be accepted',
      () =>
        api('POST', `${metallbApi}/bgppeers`, {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'BGPPeer',
          metadata: { name: 'gobgpd' },
          spec: {
            myASN: NODE_ASN,
            peerASN: ROUTER_ASN,
            peerAddress: ROUTER_IP,
            sourceAddress: NODE_IP,
            routerID: NODE_IP,
          },
        }).then(
          () => true,
          () => false,
        ),
      10_000,
    );
    await api('POST', `${metallbApi}/bgpadvertisements`, {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPAdvertisement',
      metadata: { name: 'bench' },
      spec: { ipAddressPools: ['bench'] },
    });
    await restartRouter();

    // ---- 1. idle
    const idle: Record<string, unknown> = {};
    const idleOf = async (s: Started, bgp: boolean) => {
      await ready(s);
      if (bgp) await until(`${s.name}'s BGP session`, sessionUp, 60_000);
      await sleep(settleMs);
      const rss = rssMiB(s.process.child.pid!);
      progress(`${s.name}: idle ${round(rss)} MiB`);
      return rss;
    };
    if (!porticoOnly) {
      const s = start.metallb(metallb.speaker, kubeconfig);
      idle[s.name] = { idleRssMiB: round(await idleOf(s, true)) };
      await s.process.stop();
      await restartRouter();
    }
    if (!porticoOnly) await idleIngress();
    async function idleIngress(): Promise<void> {
      const ingress = start.ingress(kubeconfig);
      await ready(ingress);
      await until('2 ingress workers', () => childPids(ingress.process.child.pid!).length === 2, 60_000);
      await sleep(settleMs);
      const ingressPids = [ingress.process.child.pid!, ...childPids(ingress.process.child.pid!)];
      const ingressRss = ingressPids.map(rssMiB);
      const ingressTotal = ingressRss.reduce((a, b) => a + b, 0);
      progress(`Portico ingress: idle ${round(ingressTotal)} MiB (${ingressRss.map(round).join(' + ')})`);
      const ingressHeap = [
        await ingress.liveHeapMiB(),
        ...(await Promise.all(
          ingressPids
            .slice(1)
            .map(async (pid, i) => liveHeapMiB(await openInspectorAt(pid, ports.ingressInspector + i + 1))),
        )),
      ];
      idle[ingress.name] = {
        idleRssMiB: round(ingressTotal),
        idleRssEachMiB: ingressRss.map(round),
        liveHeapMiB: round(ingressHeap.reduce((a, b) => a + b, 0)),
        liveHeapEachMiB: ingressHeap.map(round),
      };
      await ingress.process.stop();
    }

    const controller = start.controller(kubeconfig);
    const speaker = start.speaker(kubeconfig);
    const controllerIdle = await idleOf(controller, false);
    const speakerIdle = await idleOf(speaker, true);

    // ---- 2. the ramp
    const profiler = profileDir ? await startInspector(speaker.process) : undefined;
    if (profiler) await profiler.startSampling();
    progress(`creating ${count} Services with a ready endpoint on ${node}`);
    const watch = {
      controller: sampler(controller.process.child.pid!, server.port),
      speaker: sampler(speaker.process.child.pid!, server.port),
    };
    const cpuBefore = {
      controller: cpuSeconds(controller.process.child.pid!),
      speaker: cpuSeconds(speaker.process.child.pid!),
    };
    const started = performance.now();
    await seedServices(client, { namespace, count, endpointsOn: node });
    const created = performance.now();
    await reach('Services with an IP', () => servicesWithIp(client!, namespace));
    const assigned = performance.now();
    await reach("routes in gobgpd's RIB", ribDestinations);
    const announced = performance.now();
    const rampCpu = {
      controller: cpuSeconds(controller.process.child.pid!) - cpuBefore.controller,
      speaker: cpuSeconds(speaker.process.child.pid!) - cpuBefore.speaker,
    };
    progress(`all ${count} assigned and in gobgpd's RIB; settling`);
    if (profiler) {
      await profiler.stopSampling(join(profileDir!, 'speaker-ramp.heapprofile'));
      profiler.close();
    }
    await sleep(settleMs);
    watch.controller.stop();
    watch.speaker.stop();
    if (ribDestinations() !== count)
      throw new Error(`gobgpd lost routes while settling: ${ribDestinations()}`);
    const settled = {
      controller: rssMiB(controller.process.child.pid!),
      speaker: rssMiB(speaker.process.child.pid!),
    };
    const heap = {
      controller: await controller.liveHeapMiB(),
      speaker: profiler ? NaN : await speaker.liveHeapMiB(),
    };
    await controller.process.stop();
    await speaker.process.stop();
    const ramp = {
      createSeconds: round((created - started) / 1000),
      allAssignedAfterLastCreateSeconds: round((assigned - created) / 1000),
      allInRouterAfterLastCreateSeconds: round((announced - created) / 1000),
      routerDestinations: count,
      'Portico controller': {
        idleRssMiB: round(controllerIdle),
        peakRssMiB: round(watch.controller.peak.rssMiB),
        settledRssMiB: round(settled.controller),
        liveHeapMiB: round(heap.controller),
        peakApiConnections: watch.controller.peak.sockets,
        rampCpuSeconds: round(rampCpu.controller),
      },
      'Portico speaker': {
        idleRssMiB: round(speakerIdle),
        peakRssMiB: round(watch.speaker.peak.rssMiB),
        settledRssMiB: round(settled.speaker),
        liveHeapMiB: round(heap.speaker),
        peakApiConnections: watch.speaker.peak.sockets,
        rampCpuSeconds: round(rampCpu.speaker),
      },
    };

    // A long run that fails later still leaves the ramp's figures.
    progress(`ramp: ${JSON.stringify(ramp)}`);

    // ---- 3. each speaker started against every Service
    const restart: Record<string, unknown> = {};
    if (!profileDir)
      for (const make of [
        () => start.speaker(kubeconfig),
        () => start.metallb(metallb.speaker, kubeconfig),
      ].slice(0, porticoOnly ? 1 : 2)) {
        await restartRouter();
        const s = make();
        const w = sampler(s.process.child.pid!, server.port);
        const t0 = performance.now();
        await ready(s);
        // MetalLB's native BGP needed more than 10 minutes for 10,000 routes on a loaded machine.
        await reach(`${s.name}: routes in gobgpd's RIB`, ribDestinations);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds(s.process.child.pid!);
        progress(`${s.name}: all ${count} in gobgpd's RIB after ${round(seconds)} s; settling`);
        await sleep(settleMs);
        w.stop();
        restart[s.name] = {
          allInRouterSeconds: round(seconds),
          cpuSeconds: round(cpu),
          routerDestinations: ribDestinations(),
          peakRssMiB: round(w.peak.rssMiB),
          settledRssMiB: round(rssMiB(s.process.child.pid!)),
          liveHeapMiB: round(await s.liveHeapMiB()),
          peakApiConnections: w.peak.sockets,
        };
        progress(`restart: ${s.name}: ${JSON.stringify(restart[s.name])}`);
        await s.process.stop();
      }

    console.log(
      JSON.stringify(
        {
          ips: count,
          kubeApiserver: server.version,
          metallb: metallb.version,
          gobgpd: execFileSync('gobgpd', ['--version'], { encoding: 'utf8' }).trim(),
          node: process.version,
          nodeOptions: {
            controller: shippedNodeOptions('controller'),
            speaker: shippedNodeOptions('speaker'),
          },
          loadAverage: execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim(),
          idle,
          ramp,
          restart,
        },
        null,
        2,
      ),
    );
  } finally {
    await router?.stop();
    killAll();
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.P12_INSIDE) {
  await inside();
} else {
  if (process.getuid?.() !== 0) throw new Error('the BGP memory benchmark needs root (network namespace)');
  for (const tool of ['gobgpd', 'gobgp'])
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`the BGP memory benchmark needs ${tool} (Debian package gobgpd)`);
    }
  createLoopedNetns(
    NETNS,
    { link: 'p12-v0', addresses: [`${ROUTER_IP}/24`] },
    { link: 'p12-v1', addresses: [`${NODE_IP}/24`] },
  );
  try {
    execFileSync('ip', ['netns', 'exec', NETNS, process.execPath, import.meta.filename], {
      stdio: 'inherit',
      env: { ...process.env, P12_INSIDE: '1' },
    });
  } finally {
    deleteNetns(NETNS);
  }
}
