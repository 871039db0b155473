/**
 * Layer-2 ownership under partitions, end to end (issue 17): three real `portico speaker`
 * processes in network namespaces p17-n1..3 on one bridge (p17-sw), the development API server
 * and a prober in the client namespace p17-c. The heartbeats (UDP 7946) are cut with nftables in
 * a node's namespace while ARP, NDP and the API stay up; the judge is the wire: the prober
 * (p17-prober.mjs) broadcasts an ARP request and a Neighbor Solicitation every 5 ms and records
 * every packet claiming the Service's IPv4 or IPv6 address, with its MAC. No request may be
 * answered by two MACs, and the answers may never interleave (A, B, A within 20 ms).
 *
 * Scenarios: the owner's heartbeats cut (it steps down, another answers, nothing moves when they
 * come back), a non-owner's cut (nothing moves), two nodes cut (no majority: silence, then an
 * owner after the heal), the owner's heartbeats flapping, the owner's link down. P17_RUNS
 * repeats them (default 2; the numbers in docs/speaker.md come from P17_RUNS=20).
 * Needs root, iproute2, nftables, kubectl and a build (tsc -b packages/cli, done here).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const portico = `${root}packages/cli/bin/portico.js`;
const RUNS = Number(process.env.P17_RUNS ?? 2);
const SWITCH = 'p17-sw';
const CLIENT = 'p17-c';
const NODES = ['p17-n1', 'p17-n2', 'p17-n3'];
const V4 = (n: number) => `203.0.113.${n}`;
const V6 = (n: number) => `2001:db8:17::${n}`;
const host = (ns: string) => (ns === CLIENT ? 100 : 10 + Number(ns.slice(-1)));
const link = (ns: string) => `${ns}-e`;
const VIP4 = '203.0.113.200';
const VIP6 = '2001:db8:17::200';
const API_PORT = 16443;

const sh = (...args: string[]) =>
  execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
const children: ChildProcess[] = [];
const speakers = new Map<string, ChildProcess>();
const macs = new Map<string, string>();
interface Ev {
  kind: string;
  t: number;
  n?: number;
  mac?: string;
  gratuitous?: boolean;
}
const events: Ev[] = [];
const results: Record<string, number[]> = {};

function teardown(): void {
  const existing = sh('ip', 'netns', 'list');
  for (const ns of [CLIENT, ...NODES, SWITCH])
    if (new RegExp(`^${ns}( |$)`, 'm').test(existing)) sh('ip', 'netns', 'del', ns);
}

function topology(): void {
  teardown();
  sh('ip', 'netns', 'add', SWITCH);
  sh('ip', '-n', SWITCH, 'link', 'add', 'p17-br0', 'type', 'bridge', 'mcast_snooping', '0');
  sh('ip', '-n', SWITCH, 'link', 'set', 'p17-br0', 'up');
  for (const ns of [...NODES, CLIENT]) {
    sh('ip', 'netns', 'add', ns);
    sh(
      'ip',
      'link',
      'add',
      link(ns),
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      `${ns}-s`,
      'netns',
      SWITCH,
    );
    sh('ip', '-n', SWITCH, 'link', 'set', `${ns}-s`, 'master', 'p17-br0');
    sh('ip', '-n', SWITCH, 'link', 'set', `${ns}-s`, 'up');
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', ns, 'link', 'set', link(ns), 'up');
    sh('ip', '-n', ns, 'addr', 'add', `${V4(host(ns))}/24`, 'dev', link(ns));
    sh('ip', '-n', ns, 'addr', 'add', `${V6(host(ns))}/64`, 'dev', link(ns), 'nodad');
    macs.set(JSON.parse(sh('ip', '-n', ns, '-j', 'link', 'show', link(ns)))[0].address, ns);
  }
}

function start(ns: string, args: string[], log: string): ChildProcess {
  const out = openSync(join(dir, log), 'a');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  return child;
}

function kubectl(...args: string[]): string {
  return inNs(CLIENT, 'kubectl', '--kubeconfig', join(dir, 'kubeconfig'), ...args);
}

function startSpeaker(ns: string): void {
  speakers.set(
    ns,
    start(
      ns,
      [
        portico,
        'speaker',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--node-name',
        ns,
        '--bind-address',
        V4(host(ns)),
      ].concat(['--interfaces', link(ns), '--metrics-port', '7472']),
      `speaker-${ns}.log`,
    ),
  );
}

/** Drops the node's heartbeats both ways (UDP 7946), in its own namespace. */
function cutHeartbeats(ns: string, on: boolean): void {
  if (!on) {
    inNs(ns, 'nft', 'delete', 'table', 'inet', 'p17cut');
    return;
  }
  const rules = `table inet p17cut {
  chain in { type filter hook input priority 0; udp dport 7946 drop; }
  chain out { type filter hook output priority 0; udp dport 7946 drop; }
}`;
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: rules });
}

/** Whatever a failed scenario left behind: every cut removed, every link up. */
function healAll(): void {
  for (const ns of NODES) {
    try {
      inNs(ns, 'nft', 'delete', 'table', 'inet', 'p17cut');
    } catch {
      // not cut
    }
    if (JSON.parse(sh('ip', '-n', ns, '-j', 'link', 'show', link(ns)))[0].operstate === 'DOWN') {
      setLink(ns, true);
      sh('ip', '-n', ns, 'addr', 'replace', `${V6(host(ns))}/64`, 'dev', link(ns), 'nodad');
    }
  }
}

function setLink(ns: string, up: boolean): void {
  sh('ip', '-n', ns, 'link', 'set', link(ns), up ? 'up' : 'down');
}

/** The node that answered last for the IPv4 address (within the last `ms`). */
function currentOwner(ms = 100): string | undefined {
  const since = Date.now() - ms;
  const last = events.filter((e) => e.kind === 'ans4' && e.t >= since).at(-1);
  return last ? macs.get(last.mac!) : undefined;
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 20 + 1; i++) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) break;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

/** Two MACs for one request, or answers interleaving (A, B, A within 20 ms): two answering nodes. */
function judge(from: number, to: number): string[] {
  const found: string[] = [];
  for (const fam of ['4', '6']) {
    const window = events.filter((e) => e.t >= from && e.t <= to);
    const requests = window.filter((e) => e.kind === `req${fam}`);
    const answers = window.filter((e) => e.kind === `ans${fam}`).sort((a, b) => a.t - b.t);
    const buckets = new Map<number, Set<string>>();
    let i = 0;
    for (const a of answers) {
      while (i + 1 < requests.length && requests[i + 1]!.t <= a.t) i++;
      const r = requests[i];
      if (!r || r.t > a.t) continue;
      const set = buckets.get(r.n!) ?? new Set();
      set.add(macs.get(a.mac!) ?? a.mac!);
      buckets.set(r.n!, set);
    }
    for (const [n, set] of buckets)
      if (set.size > 1) found.push(`IPv${fam} request ${n} answered by ${[...set].join(' and ')}`);
    for (let k = 0; k + 2 < answers.length; k++) {
      const [a, b, c] = [answers[k]!, answers[k + 1]!, answers[k + 2]!];
      if (a.mac === c.mac && a.mac !== b.mac && c.t - a.t < 20)
        found.push(
          `IPv${fam} answers interleave: ${macs.get(a.mac!)}, ${macs.get(b.mac!)}, ${macs.get(c.mac!)} within ${(c.t - a.t).toFixed(1)} ms`,
        );
    }
  }
  return found;
}

/** Time from `t0` until the first answer (both families) from a node other than `old`. */
function takeoverMs(t0: number, old: string): number | undefined {
  const first = (fam: string) =>
    events.find((e) => e.kind === `ans${fam}` && e.t >= t0 && macs.get(e.mac!) !== old);
  const a = first('4');
  const b = first('6');
  return a && b ? Math.max(a.t, b.t) - t0 : undefined;
}

const record = (name: string, ms: number | undefined) => {
  if (ms !== undefined && Number.isFinite(ms)) (results[name] ??= []).push(ms);
};

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the partition tests need root (network namespaces)');
  for (const tool of ['ip', 'nft', 'kubectl'])
    if (!existsSync(`/usr/sbin/${tool}`) && !existsSync(`/usr/bin/${tool}`) && !existsSync(`/sbin/${tool}`))
      throw new Error(`the partition tests need ${tool} (Debian packages: see .ci/apt-packages)`);
  try {
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/cli'], {
      cwd: root,
    });
  } catch (err) {
    // Another package may not compile this minute (parallel work); ours were emitted if tsc got that far.
    if (!existsSync(`${root}packages/cli/dist/main.js`)) throw err;
  }
  dir = mkdtempSync(join(tmpdir(), 'p17-partition-'));
  topology();
  start(
    CLIENT,
    [
      portico,
      'dev',
      'apiserver',
      '--port',
      String(API_PORT),
      '--host',
      V4(100),
      '--kubeconfig-out',
      join(dir, 'kubeconfig'),
    ],
    'apiserver.log',
  );
  await waitFor('the API server', () => existsSync(join(dir, 'kubeconfig')) || undefined, 20_000);
  await sleep(300);
  const nodes = NODES.map(
    (ns) => `---
apiVersion: v1
kind: Node
metadata:
  name: ${ns}
  annotations: { portico.dev/speaker-address: "${V4(host(ns))}:7946" }`,
  ).join('\n');
  writeFileSync(
    join(dir, 'objects.yaml'),
    `apiVersion: v1
kind: Namespace
metadata: { name: portico-system }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: config, namespace: portico-system }
data:
  config: |
    address-pools:
      - name: l2
        protocol: layer2
        addresses: [203.0.113.200/29, 2001:db8:17::200/125]
${nodes}
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  selector: { app: web }
  ports: [{ port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: default, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ port: 80, protocol: TCP }]
endpoints:
${NODES.map((ns, i) => `  - { addresses: ["10.244.0.${i + 1}"], nodeName: ${ns}, conditions: { ready: true } }`).join('\n')}
`,
  );
  inNs(CLIENT, 'cp', join(dir, 'objects.yaml'), join(dir, 'objects-c.yaml'));
  kubectl('apply', '--validate=false', '-f', join(dir, 'objects.yaml'));
  kubectl(
    'patch',
    'service',
    'web',
    '-n',
    'default',
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: VIP4 }, { ip: VIP6 }] } } }),
  );
  for (const ns of NODES) startSpeaker(ns);
  const prober = spawn(
    'ip',
    [
      'netns',
      'exec',
      CLIENT,
      process.execPath,
      `${root}test/e2e/layer2/p17-prober.mjs`,
      link(CLIENT),
      V4(100),
      V6(100),
      VIP4,
      VIP6,
      '5',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(prober);
  createInterface({ input: prober.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Ev);
    } catch {
      // not ours
    }
  });
  await waitFor(
    'an owner answering ARP and NDP',
    () => {
      const since = Date.now() - 200;
      return events.some((e) => e.kind === 'ans4' && e.t > since) &&
        events.some((e) => e.kind === 'ans6' && e.t > since)
        ? true
        : undefined;
    },
    30_000,
  );
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await sleep(300);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  teardown();
  if (dir && !process.env.P17_KEEP) rmSync(dir, { recursive: true, force: true });
  const stats = Object.entries(results).map(([k, xs]) => {
    const v = [...xs].sort((a, b) => a - b);
    const at = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))]!.toFixed(0);
    return `${k}: n=${v.length} median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`;
  });
  if (stats.length) console.log(`layer-2 partition timings\n  ${stats.join('\n  ')}`);
}, 30_000);

describe('layer-2 ownership on the wire when heartbeats are cut (issue 17)', () => {
  // A failed scenario must not leave its cut behind for the next ones.
  afterEach(() => healAll());

  for (let run = 1; run <= RUNS; run++) {
    it(`run ${run}: the owner's heartbeats cut: it steps down, another answers within a second, nothing moves back`, async () => {
      const owner = await waitFor('an owner', () => currentOwner());
      const before = Date.now();
      cutHeartbeats(owner, true);
      // From the moment the rule is in place (starting nft takes tens of ms on a busy machine).
      const t0 = Date.now();
      record('nft cut command', t0 - before);
      const next = await waitFor(
        'a new owner',
        () => {
          const o = currentOwner(30);
          return o && o !== owner ? o : undefined;
        },
        5000,
      );
      const ms = await waitFor('the new owner on IPv4 and IPv6', () => takeoverMs(t0, owner), 5000);
      record('owner cut, new owner answers after', ms);
      expect(ms).toBeLessThan(1500); // 1 s on a quiet machine: see the timings printed at the end
      await sleep(1000);
      cutHeartbeats(owner, false);
      await sleep(2000);
      expect(await waitFor('an owner', () => currentOwner(300))).toBe(next); // sticky: no move back
      expect(judge(before - 500, Date.now())).toEqual([]);
    }, 30_000);

    it(`run ${run}: a non-owner's heartbeats cut: the owner keeps answering, alone`, async () => {
      const owner = await waitFor('an owner', () => currentOwner());
      const other = NODES.find((n) => n !== owner)!;
      const t0 = Date.now();
      cutHeartbeats(other, true);
      await sleep(2000);
      expect(currentOwner(300)).toBe(owner);
      cutHeartbeats(other, false);
      await sleep(1500);
      expect(currentOwner(300)).toBe(owner);
      expect(
        events.filter((e) => e.kind === 'ans4' && e.t > t0).every((e) => macs.get(e.mac!) === owner),
      ).toBe(true);
      expect(judge(t0 - 500, Date.now())).toEqual([]);
    }, 30_000);

    it(`run ${run}: two of three nodes cut off: no majority, no answer; an owner again after the heal`, async () => {
      const owner = await waitFor('an owner', () => currentOwner());
      const other = NODES.find((n) => n !== owner)!;
      const t0 = Date.now();
      cutHeartbeats(owner, true);
      cutHeartbeats(other, true);
      await sleep(1500);
      expect(currentOwner(500)).toBeUndefined();
      cutHeartbeats(owner, false);
      cutHeartbeats(other, false);
      const t1 = Date.now();
      const back = await waitFor('an owner after the heal', () => currentOwner(30), 5000);
      record(
        'two cut, healed, owner answers after',
        events.find((e) => e.kind === 'ans4' && e.t >= t1)!.t - t1,
      );
      expect(back).toBe(owner); // it kept its claim through the partition
      expect(judge(t0 - 500, Date.now())).toEqual([]);
    }, 30_000);

    it(`run ${run}: the owner's heartbeats flapping (300 ms cut, 300 ms back, five times): never two answering`, async () => {
      const owner = await waitFor('an owner', () => currentOwner());
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) {
        cutHeartbeats(owner, true);
        await sleep(300);
        cutHeartbeats(owner, false);
        await sleep(300);
      }
      await waitFor('an owner after the flapping', () => currentOwner(30), 5000);
      await sleep(1000);
      expect(judge(t0 - 500, Date.now())).toEqual([]);
    }, 30_000);

    it(`run ${run}: the owner's link down: another answers within a second`, async () => {
      const owner = await waitFor('an owner', () => currentOwner());
      const t0 = Date.now();
      setLink(owner, false);
      await waitFor(
        'a new owner',
        () => {
          const o = currentOwner(30);
          return o && o !== owner ? o : undefined;
        },
        5000,
      );
      const ms = await waitFor('the new owner on IPv4 and IPv6', () => takeoverMs(t0, owner), 5000);
      record('owner link down, new owner answers after', ms);
      expect(ms).toBeLessThan(1500);
      setLink(owner, true);
      sh('ip', '-n', owner, 'addr', 'replace', `${V6(host(owner))}/64`, 'dev', link(owner), 'nodad');
      await sleep(2500);
      expect(judge(t0 - 500, Date.now())).toEqual([]);
    }, 30_000);
  }
});
