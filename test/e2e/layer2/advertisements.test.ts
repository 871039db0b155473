/**
 * L2Advertisement node and interface selectors end to end (issue 13), judged by the client
 * kernels' neighbour tables. Two nodes, p13-a (zone a) and p13-b (zone b), each with two
 * interfaces named `ethx` and `ethy`, on two segments (bridges in p13-sw); a client on each
 * segment (p13-cx, p13-cy). Each node runs p13-speaker.mjs: MetalLB resources → decodeResources →
 * decide → the real layer-2 announcer with each IP's interfaces. Needs root, iproute2 and
 * iputils-ping, and a build (`npx tsc -b`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  addAddress,
  addVeth,
  attachToBridge,
  createNetns,
  deleteNetns,
  loopbackUp,
  setLink,
} from '@portico/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./p13-speaker.mjs', import.meta.url));
const SWITCH = 'p13-sw';
const NODES = { 'p13-a': { zone: 'a' }, 'p13-b': { zone: 'b' } } as const;
const CLIENTS = { x: 'p13-cx', y: 'p13-cy' } as const;
const NAMESPACES = [SWITCH, ...Object.keys(NODES), ...Object.values(CLIENTS)];
const VIP = '198.51.100.60';

const sh = (args: string[]) =>
  execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ipns = (ns: string, ...args: string[]) => sh(['ip', '-n', ns, ...args]);

if (process.getuid?.() !== 0)
  throw new Error('advertisements.test.ts needs root (network namespaces, CAP_NET_RAW)');
for (const tool of ['ip', 'ping'])
  try {
    sh(['sh', '-c', `command -v ${tool}`]);
  } catch {
    throw new Error(`advertisements.test.ts needs ${tool} (iproute2, iputils-ping)`);
  }
if (!existsSync(`${root}packages/speaker/dist/index.js`))
  throw new Error('advertisements.test.ts runs the built packages: run `npx tsc -b` first');

function teardown(): void {
  for (const ns of NAMESPACES) deleteNetns(ns);
}

/** A veth from `ns` (named `name` inside it) to a port of bridge `bridge` in the switch. */
function plug(ns: string, name: string, bridge: string, tag: string): void {
  const inside = `${tag}-i`;
  const port = `${tag}-p`;
  addVeth({ name: inside, netns: ns }, { name: port, netns: SWITCH });
  ipns(ns, 'link', 'set', inside, 'name', name);
  setLink(ns, name, true);
  attachToBridge(SWITCH, port, bridge);
}

function setup(): void {
  teardown();
  for (const ns of NAMESPACES) {
    createNetns(ns);
    loopbackUp(ns);
  }
  for (const segment of ['x', 'y']) {
    ipns(SWITCH, 'link', 'add', `p13-br${segment}`, 'type', 'bridge');
    ipns(SWITCH, 'link', 'set', `p13-br${segment}`, 'up');
  }
  let tag = 0;
  for (const ns of Object.keys(NODES))
    for (const segment of ['x', 'y']) plug(ns, `eth${segment}`, `p13-br${segment}`, `p13v${tag++}`);
  for (const [segment, ns] of Object.entries(CLIENTS)) {
    plug(ns, 'eth0', `p13-br${segment}`, `p13v${tag++}`);
    addAddress(ns, 'eth0', `198.51.100.${segment === 'x' ? 100 : 101}/24`);
  }
}

const macOf = (ns: string, name: string): string =>
  (JSON.parse(ipns(ns, '-j', 'link', 'show', name)) as { address: string }[])[0]!.address;

/** What the client on `segment` resolves the VIP to: a MAC, or undefined when nobody answers. */
function clientResolves(segment: 'x' | 'y'): string | undefined {
  const ns = CLIENTS[segment];
  try {
    ipns(ns, 'neigh', 'del', VIP, 'dev', 'eth0');
  } catch {
    // no entry yet
  }
  try {
    sh(['ip', 'netns', 'exec', ns, 'ping', '-4', '-c1', '-W1', VIP]);
  } catch {
    // nobody answers the echo itself: only the neighbour table matters
  }
  const entries = JSON.parse(ipns(ns, '-j', 'neigh', 'show', VIP, 'dev', 'eth0') || '[]') as {
    lladdr?: string;
  }[];
  return entries[0]?.lladdr;
}

interface Speaker {
  child: ChildProcess;
  events: Record<string, unknown>[];
  apply(resources: unknown[]): Promise<Record<string, string[]>>;
}

async function startSpeaker(ns: keyof typeof NODES): Promise<Speaker> {
  const args = {
    node: ns,
    nodes: Object.entries(NODES).map(([name, labels]) => ({ name, labels })),
    services: [{ name: 'web', ips: [VIP] }],
  };
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SCRIPT, JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: Record<string, unknown>[] = [];
  let notify: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    notify?.();
  });
  const next = async (count: number): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 10_000;
    while (events.length < count) {
      if (Date.now() > deadline) throw new Error(`speaker in ${ns}: no event; got ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, 100);
      });
    }
    return events[count - 1]!;
  };
  const ready = await next(1);
  if (ready.event !== 'ready') throw new Error(`speaker in ${ns} failed: ${JSON.stringify(ready)}`);
  return {
    child,
    events,
    async apply(resources) {
      const count = events.length + 1;
      child.stdin!.write(`${JSON.stringify({ resources })}\n`);
      const event = await next(count);
      if (event.event !== 'applied') throw new Error(`speaker in ${ns}: ${JSON.stringify(event)}`);
      return event.layer2 as Record<string, string[]>;
    },
  };
}

const pool = {
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name: 'lan' },
  spec: { addresses: ['198.51.100.0/24'] },
};
const l2 = (spec: Record<string, unknown>) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name: 'lan' },
  spec: { ipAddressPools: ['lan'], ...spec },
});

describe('L2Advertisement nodeSelectors and interfaces on the wire', () => {
  const speakers = new Map<string, Speaker>();
  const applyAll = async (resources: unknown[]) => {
    const out: Record<string, Record<string, string[]>> = {};
    for (const [ns, s] of speakers) out[ns] = await s.apply(resources);
    return out;
  };

  beforeAll(async () => {
    setup();
    for (const ns of Object.keys(NODES) as (keyof typeof NODES)[]) speakers.set(ns, await startSpeaker(ns));
  }, 60_000);
  afterAll(async () => {
    for (const s of speakers.values()) {
      const exited = once(s.child, 'exit');
      s.child.kill('SIGTERM');
      await exited;
    }
    teardown();
    expect(sh(['ip', 'netns', 'list'])).not.toMatch(/^p13-/m);
  });

  it('only the selected node answers, and only on the listed interface', async () => {
    const applied = await applyAll([
      pool,
      l2({ nodeSelectors: [{ matchLabels: { zone: 'b' } }], interfaces: ['ethx'] }),
    ]);
    expect(applied).toEqual({ 'p13-a': {}, 'p13-b': { [VIP]: ['ethx'] } });
    expect(clientResolves('x')).toBe(macOf('p13-b', 'ethx'));
    expect(clientResolves('y')).toBeUndefined();
  });

  it('another interface list moves the answers to that segment at once', async () => {
    const applied = await applyAll([
      pool,
      l2({ nodeSelectors: [{ matchLabels: { zone: 'b' } }], interfaces: ['ethy'] }),
    ]);
    expect(applied['p13-b']).toEqual({ [VIP]: ['ethy'] });
    expect(clientResolves('y')).toBe(macOf('p13-b', 'ethy'));
    expect(clientResolves('x')).toBeUndefined();
  });

  it('another node selector moves the IP to that node; no interfaces listed: every interface', async () => {
    const applied = await applyAll([
      pool,
      l2({ nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] }),
    ]);
    expect(applied).toEqual({ 'p13-a': { [VIP]: ['ethx', 'ethy'] }, 'p13-b': {} });
    expect(clientResolves('x')).toBe(macOf('p13-a', 'ethx'));
    expect(clientResolves('y')).toBe(macOf('p13-a', 'ethy'));
  });

  it('no advertisement selects the pool: nobody answers', async () => {
    const applied = await applyAll([pool]);
    expect(applied).toEqual({ 'p13-a': {}, 'p13-b': {} });
    expect(clientResolves('x')).toBeUndefined();
  });
});
