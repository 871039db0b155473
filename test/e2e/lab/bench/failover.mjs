// Failover time in the lab, over RUNS runs (default 20) of each scenario, on layer 2:
//   kill     SIGKILL the speaker that owns default/demo's IPv4 address; time until the router's
//            neighbour entry for the IP points at another node (the gratuitous ARP arrived).
//   link     take the owner's link down; time until the client's first successful request
//            through the IP, and until the router's neighbour entry moved.
// and on BGP:
//   bgp-kill SIGKILL one speaker; time until the router's kernel route for default/demo-bgp's
//            IPv4 address no longer has that node as a next hop.
// Needs root, a built CLI (npx tsc -b packages/cli) and FRR. Prints a JSON summary.
//   node test/e2e/lab/bench/failover.mjs [RUNS]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { startSpeaker, CLIENT, NODES, ROUTER, readState, writeState, addNodeRoutes } from '@portico/lab';

const runs = Number(process.argv[2] ?? 20);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const portico = `${root}packages/cli/bin/portico.js`;
const dir = mkdtempSync(join(tmpdir(), 'portico-lab-bench-'));
const cli = (...args) => spawnSync(process.execPath, [portico, ...args], { encoding: 'utf8' });

if (process.getuid() !== 0) throw new Error('the failover benchmark needs root');

let macs;
/** Node by MAC address of its segment link (read once the lab is up). */
function nodeMacs() {
  macs ??= new Map(
    NODES.map((n) => {
      const out = spawnSync('ip', ['-n', n.name, '-j', 'link', 'show', n.link], { encoding: 'utf8' }).stdout;
      return [JSON.parse(out)[0].address, n.name];
    }),
  );
  return macs;
}
/** The node the router's neighbour entry for IP points at. */
function owner(ip) {
  const out = spawnSync('ip', ['-n', ROUTER, '-j', 'neigh', 'show', ip], { encoding: 'utf8' }).stdout;
  const entry = JSON.parse(out || '[]').find((e) => e.lladdr);
  return entry ? nodeMacs().get(entry.lladdr) : undefined;
}
async function until(check, timeoutMs, what, everyMs = 5) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = check();
    if (v) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out: ${what}`);
}

/** A prober in the client namespace: one GET at a time (250 ms timeout), a line per success. */
function startProbe(url) {
  const code = `
    const http = require('node:http');
    const url = process.argv[1];
    const once = () => new Promise((resolve) => {
      const sent = Date.now();
      const req = http.get(url, { timeout: 250, agent: false }, (res) => {
        let body = ''; res.on('data', (c) => (body += c));
        res.on('end', () => { try { console.log(JSON.stringify({ sent, t: Date.now(), node: JSON.parse(body).node })); } catch {} resolve(); });
      });
      req.on('timeout', () => req.destroy()); req.on('error', () => setTimeout(resolve, 10));
    });
    (async () => { for (;;) await once(); })();`;
  const child = spawn('ip', ['netns', 'exec', CLIENT, process.execPath, '-e', code, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const successes = [];
  createInterface({ input: child.stdout }).on('line', (l) => successes.push(JSON.parse(l)));
  return { child, successes };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { runs: s.length, medianMs: Math.round(median), maxMs: s.at(-1), minMs: s[0] };
};

cli('lab', 'down', '--dir', dir);
const up = cli('lab', 'up', '--dir', dir);
if (up.status !== 0) throw new Error(`lab up failed:\n${up.stdout}\n${up.stderr}`);
const results = { kill: [], linkRequest: [], linkNeighbour: [], bgpKill: [] };
let probe;
try {
  const status = JSON.parse(cli('lab', 'status', '--json', '--dir', dir).stdout);
  const demo = status.services.find((s) => s.name === 'demo');
  const ip = demo.ips[0];
  probe = startProbe(demo.url);
  await until(() => probe.successes.length > 0 && owner(ip), 20_000, 'a first answer');

  for (let i = 0; i < runs; i++) {
    const state = readState(dir);
    const was = await until(() => owner(ip), 5_000, 'an owner');
    const t0 = Date.now();
    process.kill(state.pids[`speaker-${was}`], 'SIGKILL');
    await until(
      () => (owner(ip) && owner(ip) !== was ? true : undefined),
      10_000,
      'the neighbour entry to move',
    );
    results.kill.push(Date.now() - t0);
    state.pids[`speaker-${was}`] = startSpeaker(state, was);
    writeState(state);
    await sleep(2_500); // the restarted speaker joins again (ownership stays where it moved)
  }

  for (let i = 0; i < runs; i++) {
    const was = await until(() => owner(ip), 5_000, 'an owner');
    const link = NODES.find((n) => n.name === was).link;
    spawnSync('ip', ['-n', was, 'link', 'set', link, 'down']);
    // From the moment the link is down (requests sent before then may still succeed through it).
    const t0 = Date.now();
    const [moved, answered] = await Promise.all([
      until(
        () => (owner(ip) && owner(ip) !== was ? Date.now() : undefined),
        15_000,
        'the neighbour entry to move',
      ),
      until(
        () => probe.successes.find((s) => s.sent > t0 && s.node !== was)?.t,
        15_000,
        'an answer from another node',
      ),
    ]);
    results.linkNeighbour.push(moved - t0);
    results.linkRequest.push(answered - t0);
    spawnSync('ip', ['-n', was, 'link', 'set', link, 'up']);
    addNodeRoutes(was);
    await sleep(2_500); // the node's speaker is heard again before the next run
  }

  const bgpIp = status.services.find((s) => s.name === 'demo-bgp').ips[0];
  const hops = () => spawnSync('ip', ['-n', ROUTER, 'route', 'show', bgpIp], { encoding: 'utf8' }).stdout;
  for (let i = 0; i < runs; i++) {
    const node = NODES[i % NODES.length];
    const via = `via ${node.ipv4} `;
    await until(() => NODES.every((n) => hops().includes(`via ${n.ipv4} `)), 30_000, 'every next hop');
    const state = readState(dir);
    const t0 = Date.now();
    process.kill(state.pids[`speaker-${node.name}`], 'SIGKILL');
    await until(() => !hops().includes(via), 15_000, `${node.name} to leave the route`);
    results.bgpKill.push(Date.now() - t0);
    state.pids[`speaker-${node.name}`] = startSpeaker(state, node.name);
    writeState(state);
  }
} finally {
  probe?.child.kill();
  cli('lab', 'down', '--dir', dir);
}

console.log(
  JSON.stringify(
    {
      layer2: {
        speakerKilled_neighbourUpdated: stats(results.kill),
        linkDown_firstClientAnswer: stats(results.linkRequest),
        linkDown_neighbourUpdated: stats(results.linkNeighbour),
      },
      bgp: { speakerKilled_routerRouteWithdrawn: stats(results.bgpKill) },
      raw: results,
    },
    null,
    2,
  ),
);
