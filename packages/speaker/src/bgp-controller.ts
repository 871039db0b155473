/**
 * The BGP half of the speaker (MetalLB's bgp_controller): opens a session to each peer that
 * selects this node and keeps the BGP speaker's table equal to the routes of the Services this
 * node advertises.
 *
 * Incremental: a changed Service touches only its prefixes (old and new); each touched prefix is
 * merged again from the Services behind it (usually one; several when Services share an IP or
 * aggregate into one block), and only prefixes whose route or per-session variant changed go to
 * the BGP speaker, as announcements and withdrawals (bgp-table.ts).
 */
import type { PeerOptions, Route } from '@portico/bgp';
import type { Logger } from 'pino';
import type { BgpBackend } from './backends.js';
import { type PeerRoute, prefixEntry } from './bgp-routes.js';
import { BgpTable } from './bgp-table.js';
import type { ServiceFacts, World } from './decide.js';
import { samePeer } from './peers.js';
import type { ServiceBook } from './service-book.js';
import type { SpeakerMetrics } from './metrics.js';

export interface BgpControllerOptions {
  book: ServiceBook;
  /** Builds the BGP speaker when the first peer for this node appears. */
  createBgp: (localAsn: number) => BgpBackend;
  metrics: SpeakerMetrics;
  logger: Logger;
}

export class BgpController {
  private bgp: BgpBackend | undefined;
  private readonly peers = new Map<string, PeerOptions>();
  /** The routes given to the BGP speaker, and each session's own (see bgp-table.ts). */
  private readonly table = new BgpTable();
  /** Prefix -> the keys of the Services with a route for it (one string when one, the usual case). */
  private readonly contributors = new Map<string, string | string[]>();
  /** Prefixes to merge again on the next pass. */
  private readonly dirty = new Set<string>();

  constructor(private readonly options: BgpControllerOptions) {}

  /** A Service's facts changed: its prefixes, old and new, are merged again on the next pass. */
  serviceChanged(key: string, before: ServiceFacts | undefined, after: ServiceFacts | undefined): void {
    const was = before?.routes ?? [];
    const now = after?.routes ?? [];
    if (was.length === 0 && now.length === 0) return;
    for (const r of was) {
      const prefix = r.route.prefix;
      this.dirty.add(prefix);
      if (now.some((n) => n.route.prefix === prefix)) continue;
      const keys = this.contributors.get(prefix);
      if (keys === key) this.contributors.delete(prefix);
      else if (Array.isArray(keys)) {
        const rest = keys.filter((k) => k !== key);
        if (rest.length === 1) this.contributors.set(prefix, rest[0]!);
        else this.contributors.set(prefix, rest);
      }
    }
    for (const r of now) {
      const prefix = r.route.prefix;
      this.dirty.add(prefix);
      const keys = this.contributors.get(prefix);
      if (keys === undefined) this.contributors.set(prefix, key);
      else if (keys === key) continue;
      else if (typeof keys === 'string') this.contributors.set(prefix, [keys, key]);
      else if (!keys.includes(key)) keys.push(key);
    }
  }

  /** Brings the sessions to the peers that select this node and the BGP speaker to the table. */
  pass(world: World, peers: ReadonlyMap<string, PeerOptions>): void {
    for (const prefix of this.dirty) this.table.set(prefix, this.entryOf(prefix, world));
    this.dirty.clear();
    if (!this.bgp && peers.size === 0) return;
    if (!this.bgp) {
      this.bgp = this.options.createBgp(world.localAsn);
      this.bgp
        .start()
        .catch((err: unknown) =>
          this.options.logger.error({ err: String(err) }, 'bgp speaker failed to start'),
        );
    }
    this.syncPeers(peers);
    const change = this.table.send(this.bgp);
    const prefixes = this.table.size;
    const log = this.options.logger;
    if (change.initial) log.info({ event: 'bgpRoutes', prefixes }, 'bgp routes set');
    else if (change.announced + change.withdrawn > 0)
      log.info(
        { event: 'bgpRoutes', prefixes, announced: change.announced, withdrawn: change.withdrawn },
        'bgp routes updated',
      );
    this.options.metrics.announced.set({ protocol: 'bgp' }, prefixes);
  }

  /** The table in decide()'s form: every route, and each session's own when some prefix has variants. */
  routes(): { bgp: Route[]; byPeer: Map<string, Route[]> } {
    const entries = [...this.table.table.values()].sort((a, b) =>
      a.route.prefix < b.route.prefix ? -1 : a.route.prefix > b.route.prefix ? 1 : 0,
    );
    const byPeer = new Map<string, Route[]>();
    const sessions = new Set<string>();
    for (const e of entries) for (const address of e.variants?.keys() ?? []) sessions.add(address);
    for (const address of sessions) byPeer.set(address, []);
    for (const e of entries)
      for (const address of sessions) {
        const route = e.variants ? e.variants.get(address) : e.route;
        if (route) byPeer.get(address)!.push(route);
      }
    return { bgp: entries.map((e) => e.route), byPeer };
  }

  async stop(): Promise<void> {
    await this.bgp?.stop();
  }

  private syncPeers(peers: ReadonlyMap<string, PeerOptions>): void {
    const bgp = this.bgp!;
    const log = this.options.logger;
    for (const [address, current] of this.peers) {
      const wanted = peers.get(address);
      if (wanted && samePeer(wanted, current)) continue;
      bgp.removePeer(address);
      this.peers.delete(address);
      log.info({ event: 'peerRemoved', peer: address }, 'bgp peer removed');
    }
    for (const [address, wanted] of peers) {
      if (this.peers.has(address)) continue;
      bgp.addPeer({ ...wanted, exportPolicy: this.table.policyFor(address) });
      this.peers.set(address, wanted);
      log.info({ event: 'peerAdded', peer: address, asn: wanted.peerAsn }, 'bgp peer added');
    }
  }

  /** The table entry of a prefix, merged from the routes of the Services behind it. */
  private entryOf(prefix: string, world: World) {
    const keys = this.contributors.get(prefix);
    if (keys === undefined) return undefined;
    const routes: PeerRoute[] = [];
    for (const key of typeof keys === 'string' ? [keys] : keys)
      for (const r of this.options.book.factsOf(key)?.routes ?? [])
        if (r.route.prefix === prefix) routes.push(r);
    return prefixEntry(routes, world.sessions);
  }
}
