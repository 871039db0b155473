// Full-table transfer benchmark: our speaker against GoBGP, towards FRR bgpd and BIRD 2,
// in network namespaces (prefix pbgpb). See docs/benchmarks.md "## BGP" for the method.
// Run: npm exec -w @portico/bgp -- node bench/full-table.mjs   (root; needs frr, bird2, gobgpd, tcpdump;
// builds dist first). `npm run bench -w @portico/bgp` runs it and then bench/churn.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { Bird, birdConfig, Frr, frrBgpdConfig, gobgpConfig } from '@portico/testbed';
import { killPidFile, sh, startGobgpd, teardown, topology } from './netns.mjs';
import { controlClient, waitUntil } from './router-control.mjs';

const COUNT = Number(process.env.BENCH_ROUTES ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const R = 'pbgpb-r';
const S = 'pbgpb-s';
const dir = mkdtempSync(join(tmpdir(), 'pbgpb-'));

// ---- routers: state + received prefix count in one query ----
const routers = {
  frr: {
    start() {
      new Frr(R, dir).startBgpd(
        frrBgpdConfig({
          asn: 65000,
          routerId: '192.0.2.1',
          neighbors: [
            { address: '192.0.2.2', remoteAs: 65001, connectRetry: 1 },
            { address: '2001:db8::2', remoteAs: 65001, connectRetry: 1 },
          ],
          addressFamilies: { ipv4: { activate: ['192.0.2.2'] }, ipv6: { activate: ['2001:db8::2'] } },
        }),
      );
    },
    /** [established, prefixes received] */
    async poll(family) {
      this.vty ??= controlClient(join(dir, 'bgpd.vty'), 'frr');
      const peer = family === 'ipv4' ? '192.0.2.2' : '2001:db8::2';
      const text = await this.vty.query(`show bgp ${family} unicast summary json`);
      const j = JSON.parse(text.slice(0, text.indexOf('\0')) || '{}');
      const p = (j.peers ?? {})[peer] ?? {};
      return [p.state === 'Established', p.pfxRcd ?? 0];
    },
    close() {
      this.vty?.close();
      this.vty = undefined;
    },
    updates(family) {
      const peer = family === 'ipv4' ? '192.0.2.2' : '2001:db8::2';
      const j = JSON.parse(
        sh('vtysh', ['--vty_socket', dir, '-c', `show bgp neighbors ${peer} json`], true) || '{}',
      );
      return j[peer]?.messageStats?.updatesRecv ?? 0;
    },
  },
  bird: {
    start() {
      const session = (name, local, neighbor, family) => ({
        name,
        local,
        localAs: 65000,
        neighbor,
        neighborAs: 65001,
        connectRetry: 1,
        channels: [{ family }],
      });
      new Bird(R, dir).start(
        birdConfig({
          routerId: '192.0.2.1',
          sessions: [
            session('v4', '192.0.2.1', '192.0.2.2', 'ipv4'),
            session('v6', '2001:db8::1', '2001:db8::2', 'ipv6'),
          ],
        }),
      );
      // Ready when birdc answers, not only when the socket exists.
      sh('sh', [
        '-c',
        `for i in $(seq 50); do birdc -s ${dir}/bird.ctl show status >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1`,
      ]);
    },
    async poll(family) {
      this.ctl ??= controlClient(join(dir, 'bird.ctl'), 'bird');
      const out = await this.ctl.query(`show protocols all ${family === 'ipv4' ? 'v4' : 'v6'}`);
      const m = /Routes:\s+(\d+) imported/.exec(out);
      return [/BGP state:\s+Established/.test(out), m ? Number(m[1]) : 0];
    },
    updates() {
      return undefined;
    },
    close() {
      this.ctl?.close();
      this.ctl = undefined;
    },
  },
};

/**
 * Polls the router as fast as it answers. Returns [lower, upper] bounds in ms of the time from the
 * router's Established to all prefixes in its RIB: lower from the first poll that saw Established,
 * upper from the start of the last poll that did not (one poll takes tens of ms).
 */
async function measureTransfer(router, family) {
  let tEst;
  let lastDown;
  const deadline = performance.now() + 60_000;
  for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
    const started = performance.now();
    const [est, count] = await router.poll(family);
    const now = performance.now();
    if (!est) lastDown = started;
    if (est && tEst === undefined) tEst = now;
    if (tEst !== undefined && count >= COUNT) {
      if (lastDown === undefined) throw new Error('session was up before the run started');
      return { bounds: [now - tEst, now - lastDown], doneAt: performance.timeOrigin + now };
    }
    if (tEst === undefined) await sleep(1);
  }
  throw new Error('transfer did not complete');
}

/**
 * A packet capture on the router's veth for one run, so the session bring-up can be timed from
 * the wire too: the Established-based figure leaves out what a speaker does before it confirms
 * the OPEN (we pack the table there); this one starts at the speaker's OPEN.
 */
async function startCapture() {
  const file = join(dir, 'run.pcap');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      R,
      'tcpdump',
      '--immediate-mode',
      '-U',
      '-n',
      '-s',
      '0',
      '-i',
      'pbgpbr0',
      '-w',
      file,
      'tcp port 179',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', (e) => (err += `${e.message} (is tcpdump installed?)`));
  await waitUntil(
    'tcpdump listening',
    () => err.includes('listening on') || child.exitCode !== null,
    5_000,
    20,
  );
  if (!err.includes('listening on')) throw new Error(`tcpdump did not start: ${err}`);
  return {
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(3000)]);
      child.kill('SIGKILL');
      return openToLastUpdate(readFileSync(file));
    },
  };
}

/**
 * From a pcap (Ethernet, TCP port 179, captured on the router's side), for the connection that
 * carried the routes: epoch ms (kernel timestamps) of the speaker's first data segment (its OPEN:
 * the speaker has taken up the session there, whoever opened the TCP connection and whenever) and
 * of its last one (the table and End-of-RIB; nothing else is due before the run ends).
 */
function openToLastUpdate(pcap) {
  const nano = pcap.readUInt32LE(0) === 0xa1b23c4d;
  const conns = new Map();
  for (let off = 24; off + 16 <= pcap.length;) {
    const ms = pcap.readUInt32LE(off) * 1000 + pcap.readUInt32LE(off + 4) / (nano ? 1e6 : 1e3);
    const len = pcap.readUInt32LE(off + 8);
    const p = pcap.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    if (p.length < 14) continue;
    const v6 = p.readUInt16BE(12) === 0x86dd;
    const l4 = v6 ? 54 : 14 + (p[14] & 15) * 4;
    if (p.length < l4 + 20) continue;
    // Payload octets from the IP length fields (a frame may carry padding after the packet).
    const ipEnd = v6 ? 54 + p.readUInt16BE(18) : 14 + p.readUInt16BE(16);
    const data = ipEnd - l4 - (p[l4 + 12] >> 4) * 4;
    if (data <= 0) continue;
    const key = [p.readUInt16BE(l4), p.readUInt16BE(l4 + 2)].sort().join('-');
    const c = conns.get(key) ?? { open: undefined, last: undefined, octets: 0 };
    conns.set(key, c);
    // The speaker is 192.0.2.2 / 2001:db8::2, the router .1 / ::1 (see topology()).
    if ((v6 ? p[37] : p[29]) === 2) {
      c.open ??= ms;
      c.last = ms;
      c.octets += data;
    }
  }
  const best = [...conns.values()].sort((a, b) => b.octets - a.octets)[0];
  if (!best?.last) throw new Error('no data from the speaker in the capture');
  return { open: best.open, lastUpdate: best.last };
}

function startOurs(family, extra = {}) {
  const peer = family === 'ipv4' ? '192.0.2.1' : '2001:db8::1';
  const local = family === 'ipv4' ? '192.0.2.2' : '2001:db8::2';
  const config = {
    localAsn: 65001,
    routerId: '192.0.2.2',
    family,
    count: COUNT,
    nextHop: local,
    peer: {
      peerAddress: peer,
      peerAsn: 65000,
      localAddress: local,
      families: [family],
      connectRetryTime: 1,
      ...extra,
    },
  };
  const child = spawn(
    'ip',
    ['netns', 'exec', S, process.execPath, join(HERE, 'speaker.mjs'), JSON.stringify(config)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const events = [];
  createInterface({ input: child.stdout }).on('line', (l) => events.push(JSON.parse(l)));
  return {
    events,
    send: (cmd) => child.stdin.write(JSON.stringify(cmd) + '\n'),
    async stop() {
      child.stdin.write(JSON.stringify({ op: 'stop' }) + '\n');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
      child.kill('SIGKILL');
    },
  };
}

// GoBGP as the speaker: it learns the routes beforehand from a feeder (our speaker on loopback,
// eBGP AS 65100), then its session to the router is enabled and the transfer is timed the same way.
function startGobgp() {
  const router = (address, family) => ({
    address,
    peerAs: 65000,
    adminDown: true,
    connectRetry: 1,
    families: [family],
  });
  const conf = gobgpConfig({
    asn: 65001,
    routerId: '192.0.2.2',
    neighbors: [
      { address: '127.0.0.1', peerAs: 65100, families: ['ipv4', 'ipv6'] },
      router('192.0.2.1', 'ipv4'),
      router('2001:db8::1', 'ipv6'),
    ],
  });
  return startGobgpd(S, join(dir, 'gobgpd.toml'), conf);
}

function gobgp(...args) {
  return sh('ip', ['netns', 'exec', S, 'gobgp', ...args], true);
}

async function feedGobgp(family) {
  const config = {
    localAsn: 65100,
    routerId: '192.0.2.99',
    family,
    count: COUNT,
    nextHop: family === 'ipv4' ? '192.0.2.2' : '2001:db8::2',
    peer: {
      peerAddress: '127.0.0.1',
      peerAsn: 65001,
      families: ['ipv4', 'ipv6'],
      connectRetryTime: 1,
      nextHopIPv6: '2001:db8::2',
    },
  };
  const child = spawn(
    'ip',
    ['netns', 'exec', S, process.execPath, join(HERE, 'speaker.mjs'), JSON.stringify(config)],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  await waitUntil(`GoBGP holds ${COUNT} ${family} routes`, () => {
    const m = /Destination:\s*(\d+)/.exec(gobgp('global', 'rib', 'summary', '-a', family));
    return m && Number(m[1]) >= COUNT;
  });
  return child;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bounds = (runs) => [median(runs.map((r) => r.bounds[0])), median(runs.map((r) => r.bounds[1]))];
/**
 * One run: `begin` starts the session (the capture is already listening). Established-based
 * bounds, plus from the speaker's OPEN on the wire: its last UPDATE on the wire and the router done.
 */
async function timedRun(router, family, begin) {
  const capture = await startCapture();
  begin();
  const t = await measureTransfer(router, family);
  const wire = await capture.stop();
  return { bounds: t.bounds, wire: wire.lastUpdate - wire.open, fromOpen: t.doneAt - wire.open };
}
const fmt = (r) =>
  `${r.bounds.map((x) => x.toFixed(1)).join('-')} (from its OPEN: last UPDATE ${r.wire.toFixed(1)}, router done ${r.fromOpen.toFixed(1)})`;
const results = [];

async function benchRouter(name) {
  const router = routers[name];
  router.start();
  const gobgpd = startGobgp();
  for (const family of (process.env.BENCH_FAMILIES ?? 'ipv4,ipv6').split(',')) {
    // Ours: a fresh speaker process per run; the router sees a new session with the full table.
    const ours = [];
    let ourUpdates;
    for (let run = 0; run < RUNS; run++) {
      const before = router.updates(family);
      let s;
      const extra = process.env.BENCH_NO_EXTENDED ? { extendedMessage: false } : {};
      ours.push(await timedRun(router, family, () => (s = startOurs(family, extra))));
      if (process.env.BENCH_VERBOSE) console.log('ours ', family, fmt(ours.at(-1)));
      const after = router.updates(family);
      if (before !== undefined && after !== undefined) ourUpdates = after - before;
      await s.stop();
      await waitUntil('router cleared', async () => (await router.poll(family))[1] === 0);
    }
    // GoBGP: routes injected beforehand via the feeder; neighbour enabled to start the transfer.
    const feeder = await feedGobgp(family);
    const peer = family === 'ipv4' ? '192.0.2.1' : '2001:db8::1';
    const theirs = [];
    let theirUpdates;
    for (let run = 0; run < RUNS; run++) {
      const before = router.updates(family);
      theirs.push(await timedRun(router, family, () => gobgp('neighbor', peer, 'enable')));
      if (process.env.BENCH_VERBOSE) console.log('gobgp', family, fmt(theirs.at(-1)));
      const after = router.updates(family);
      if (before !== undefined && after !== undefined) theirUpdates = after - before;
      gobgp('neighbor', peer, 'disable');
      await waitUntil('router cleared', async () => (await router.poll(family))[1] === 0);
    }
    feeder.kill('SIGKILL');
    const row = {
      router: name,
      family,
      ours: bounds(ours),
      gobgp: bounds(theirs),
      oursFromOpen: median(ours.map((r) => r.fromOpen)),
      gobgpFromOpen: median(theirs.map((r) => r.fromOpen)),
      oursWire: median(ours.map((r) => r.wire)),
      gobgpWire: median(theirs.map((r) => r.wire)),
      ourUpdates,
      theirUpdates,
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  gobgpd.kill('SIGKILL');
  router.close();
  killPidFile(join(dir, name === 'frr' ? 'bgpd.pid' : 'bird.pid'));
  await sleep(300);
}

try {
  execFileSync('npx', ['tsc', '-b', '.'], { cwd: join(HERE, '..'), stdio: 'inherit' });
  topology({ router: R, speaker: S, routerLink: 'pbgpbr0', speakerLink: 'pbgpbs0' });
  for (const name of (process.env.BENCH_ROUTERS ?? 'frr,bird').split(',')) await benchRouter(name);
  console.log(
    '\n| router | family | ours, ms (lower-upper bound, median) | GoBGP, ms (lower-upper) | GoBGP / ours (upper bounds) | from speaker OPEN to router done, ours / GoBGP | from speaker OPEN to its last UPDATE on the wire, ours / GoBGP | UPDATEs ours / GoBGP |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const u = r.ourUpdates === undefined ? 'n/a' : `${r.ourUpdates} / ${r.theirUpdates}`;
    const f = ([lo, hi]) => `${lo.toFixed(0)}-${hi.toFixed(0)}`;
    console.log(
      `| ${r.router} | ${r.family} | ${f(r.ours)} | ${f(r.gobgp)} | ${(r.gobgp[1] / r.ours[1]).toFixed(1)}x | ${r.oursFromOpen.toFixed(0)} / ${r.gobgpFromOpen.toFixed(0)} | ${r.oursWire.toFixed(0)} / ${r.gobgpWire.toFixed(0)} | ${u} |`,
    );
  }
} finally {
  teardown(R, S);
  rmSync(dir, { recursive: true, force: true });
}
