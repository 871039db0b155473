/**
 * The BGP controller's incremental passes give the BGP speaker exactly the table decide() computes
 * from scratch: random changes to Services and EndpointSlices (shared IPs, prefixes aggregated
 * into one block, Local policy weights, advertisements that name their peers), one pass after
 * each, compared with the whole decision; each pass sends only the prefixes it changed.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Route } from '@portico/bgp';
import { type Config, decodeResources } from '@portico/config';
import type { Informer } from '@portico/kube';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BgpController } from '../src/bgp-controller.js';
import { decide, worldOf } from '../src/decide.js';
import { slicesByService } from '../src/endpoints.js';
import { ServiceBook } from '../src/service-book.js';
import { speakerMetrics } from '../src/metrics.js';
import { config, node, service, slice } from './fixtures.js';
import { FakeBgp } from './harness.js';

/** An informer's cache held in memory: what the ServiceBook reads of one (get, list, on). */
class Store<T extends { metadata?: { name?: string; namespace?: string } }> {
  private readonly objects = new Map<string, T>();
  private readonly handlers: Record<'add' | 'update' | 'delete', Array<(o: T) => void>> = {
    add: [],
    update: [],
    delete: [],
  };
  on(verb: 'add' | 'update' | 'delete', handler: (o: T) => void): void {
    this.handlers[verb].push(handler);
  }
  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }
  list(): T[] {
    return [...this.objects.values()];
  }
  put(o: T): void {
    const key = `${o.metadata?.namespace}/${o.metadata?.name}`;
    const verb = this.objects.has(key) ? 'update' : 'add';
    this.objects.set(key, o);
    for (const h of this.handlers[verb]) h(o);
  }
  remove(name: string, namespace = 'default'): void {
    const o = this.objects.get(`${namespace}/${name}`);
    if (!o) return;
    this.objects.delete(`${namespace}/${name}`);
    for (const h of this.handlers.delete) h(o);
  }
}

/** A small deterministic generator (the runs are reproducible). */
function random(seed: number) {
  // mulberry32
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

const v1 = 'metallb.io/v1beta1';
/** Two BGPPeers, and advertisements that name them (each peer its own communities and blocks). */
function namedPeersConfig(): Config {
  const r = decodeResources([
    {
      apiVersion: v1,
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: ['203.0.113.0/24'] },
    },
    {
      apiVersion: v1,
      kind: 'BGPPeer',
      metadata: { name: 'r1' },
      spec: { myASN: 64500, peerASN: 64501, peerAddress: '192.0.2.1' },
    },
    {
      apiVersion: v1,
      kind: 'BGPPeer',
      metadata: { name: 'r2' },
      spec: { myASN: 64500, peerASN: 64502, peerAddress: '192.0.2.2' },
    },
    {
      apiVersion: v1,
      kind: 'BGPAdvertisement',
      metadata: { name: 'to-r1' },
      spec: { ipAddressPools: ['p'], peers: ['r1'], communities: ['64500:1'] },
    },
    {
      apiVersion: v1,
      kind: 'BGPAdvertisement',
      metadata: { name: 'to-r2' },
      spec: { ipAddressPools: ['p'], peers: ['r2'], aggregationLength: 28, communities: ['64500:2'] },
    },
    {
      apiVersion: v1,
      kind: 'BGPAdvertisement',
      metadata: { name: 'to-all' },
      spec: { ipAddressPools: ['p'], aggregationLength: 30 },
    },
  ]);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

const byPrefix = (a: Route, b: Route) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0);

describe.each<[string, () => Config, string[]]>([
  ['ConfigMap pools, /32 and /24 blocks', () => config(), ['203.0.113.', '2001:db8:2::']],
  ['advertisements naming their peers', namedPeersConfig, ['203.0.113.']],
])('BGP controller: incremental passes equal the whole decision (%s)', (_name, makeConfig, prefixes) => {
  it.each([1, 2, 3])('random changes, seed %i', (seed) => {
    const cfg = makeConfig();
    const self = 'n1';
    const nodes = [node('n1', { labels: { rack: 'r1' } }), node('n2'), node('n3')];
    const services = new Store<V1Service>();
    const slices = new Store<V1EndpointSlice>();
    const metrics = speakerMetrics(new Registry());
    const book = new ServiceBook({
      services: services as unknown as Informer<V1Service>,
      slices: slices as unknown as Informer<V1EndpointSlice>,
      // Not used by passes (settle and record are the Speaker's).
      recorder: undefined as never,
      statuses: undefined as never,
      metrics,
      nodeName: self,
      logger: pino({ level: 'silent' }),
    });
    book.watch(() => {});
    let fake: FakeBgp | undefined;
    const controller = new BgpController({
      book,
      createBgp: (asn) => (fake = new FakeBgp(asn)),
      metrics,
      logger: pino({ level: 'silent' }),
    });
    const world = worldOf(self, cfg, nodes, 64500);
    const peers = new Map(world.sessions.map((s) => [s.address, { peerAddress: s.address, peerAsn: 64501 }]));
    const next = random(seed);
    const ip = () => {
      const base = prefixes[next(prefixes.length)]!;
      // Few addresses, so Services share IPs and blocks often.
      return `${base}${1 + next(12)}`;
    };

    let most = 0;
    for (let step = 0; step < 150; step++) {
      const name = `s${next(10)}`;
      const op = next(10);
      if (op < 4) {
        const ips = next(4) === 0 ? [ip(), ip()] : [ip()];
        services.put(service(name, ips, { local: next(2) === 0 }));
      } else if (op < 8) {
        const s = slice(
          name,
          Array.from({ length: next(4) }, () => ({ node: `n${1 + next(3)}`, ready: next(5) !== 0 })),
        );
        s.metadata!.name = `${name}-slice`;
        slices.put(s);
      } else if (op === 8) services.remove(name);
      else slices.remove(`${name}-slice`);

      book.recompute(world, (key, before, after) => controller.serviceChanged(key, before, after));
      const callsBefore = fake?.calls.length ?? 0;
      controller.pass(world, peers);

      const whole = decide({
        node: self,
        config: cfg,
        services: services.list(),
        slices: slicesByService(slices.list()),
        nodes,
        alive: () => true,
        claims: () => undefined,
        localAsn: 64500,
      });
      const bgp = fake!;
      most = Math.max(most, bgp.routes.length);
      expect([...bgp.routes].sort(byPrefix)).toEqual(whole.bgp);
      // Each session's view through its export policy is the decision's, for that session.
      for (const [address, options] of bgp.peers) {
        const policy = (options as { exportPolicy?: (r: Route) => Route | null }).exportPolicy!;
        const seen = bgp.routes
          .map((r) => policy(r))
          .filter((r): r is Route => r !== null)
          .sort(byPrefix);
        expect(seen).toEqual(whole.bgpByPeer.get(address) ?? whole.bgp);
      }
      // Differences only: a pass sends no more than the prefixes whose routes differ.
      const sent = bgp.calls.slice(callsBefore);
      if (callsBefore > 0) expect(sent.every((c) => !c.startsWith('set '))).toBe(true);
      expect(new Set(sent).size).toBe(sent.length);
    }
    expect(fake!.calls.filter((c) => c.startsWith('set '))).toHaveLength(1);
    // Not a vacuous run: tables of some size, and routes that changed and went.
    expect(most).toBeGreaterThan(5);
    expect(fake!.calls.filter((c) => c.startsWith('withdraw ')).length).toBeGreaterThan(5);
    expect(fake!.calls.filter((c) => c.startsWith('announce ')).length).toBeGreaterThan(20);
  });
});
