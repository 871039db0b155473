/**
 * The BGP session with one peer: the RFC 4271 §8 state machine above the connection level (Idle,
 * Connect, Active), the ConnectRetry timer with back-off, active and passive opening, and
 * collision detection between two connections to the same peer (§6.8). It also keeps the
 * Adj-RIB-Out of the peer and sends it the routes the speaker gives it.
 */
import { EventEmitter } from 'node:events';
import { isIPv4, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { AdjRibOut } from './adj-rib-out.js';
import { Backoff } from './backoff.js';
import type { Capabilities } from './capabilities.js';
import { Afi, type AfiNumber, BGP_PORT, CeaseSubcode, ErrorCode, Safi } from './constants.js';
import { type CloseReason, Connection, type Negotiated, unmap } from './connection.js';
import { describeNotification, encodeRouteRefresh } from './message.js';
import type { CompiledRoute, ExportContext, Route } from './route.js';
import { encodeEndOfRib } from './sender.js';
import type { BgpStats } from './metrics.js';
import { connectTcp, setSocketTtl } from './transport.js';
import type { UpdateMessage } from './update.js';

export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
const STATE_NUMBER: Record<SessionState, number> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

export interface BfdOptions {
  desiredMinTxMs?: number;
  requiredMinRxMs?: number;
  detectMultiplier?: number;
}

/** Starts BFD towards a peer whose BGP session just came up; `onDown` tears BGP down. Returns a stop function. */
export type BfdStarter = (
  link: { localAddress: string; peerAddress: string; options: BfdOptions },
  onDown: () => void,
) => () => void;

export interface PeerOptions {
  peerAddress: string;
  peerAsn: number;
  /** Default 179. */
  peerPort?: number;
  /** Our AS for this peer; default the speaker's. */
  localAsn?: number;
  /** Source address of our connections (and the default next hop). */
  localAddress?: string;
  /** Seconds, 0 or at least 3. Default 90. */
  holdTime?: number;
  /** Seconds between KEEPALIVEs. Default a third of the negotiated hold time. */
  keepaliveTime?: number;
  /** Seconds before the first reconnect; doubles per failure (with jitter) up to maxConnectRetryTime. Default 5. */
  connectRetryTime?: number;
  /** Default 120. */
  maxConnectRetryTime?: number;
  /** Seconds to wait for the TCP handshake. Default 10. */
  connectTimeout?: number;
  /** RFC 2385 TCP-MD5 key. */
  password?: string;
  /** Never connect; only accept the peer's connections (needs the speaker's listener). */
  passive?: boolean;
  /** IP TTL of our packets, for eBGP multihop. Default: the system's (64). */
  ttl?: number;
  /** Families to negotiate. Default both. */
  families?: ('ipv4' | 'ipv6')[];
  /** Next hop for IPv4 routes when the session runs over IPv6 (and the reverse). */
  nextHopIPv4?: string;
  nextHopIPv6?: string;
  /** Advertise RFC 8654 extended messages. Default true. */
  extendedMessage?: boolean;
  /** RFC 4724: ask the peer to keep our routes for restartTime seconds while we restart. Default on, 120 s. */
  gracefulRestart?: false | { restartTime?: number };
  /**
   * Per-peer export policy: the route to send (possibly changed), or null to not send it. It is
   * asked again for a route when that route is announced or replaced (or on setRoutes), not on
   * every change of others: a policy whose answer for a route changes must be followed by
   * announcing that route again.
   */
  exportPolicy?: (route: Route) => Route | null;
  bfd?: BfdOptions;
}

/** What the speaker gives every session. */
export interface SessionContext {
  localAsn: number;
  routerId?: string;
  logger: Logger;
  stats: BgpStats;
  /** True on the first sessions after the speaker started: sets the Restart State bit (RFC 4724 §3). */
  restarting: boolean;
  routes: () => Iterable<CompiledRoute>;
  routeMap: () => Map<string, CompiledRoute>;
  compile: (route: Route) => CompiledRoute;
  /** Builds a BFD session when the peer asks for BFD; returns a stop function. */
  startBfd?: BfdStarter;
}

export interface SessionEvents {
  state: [SessionState, SessionState];
  established: [Negotiated];
  down: [CloseReason];
  /** A connection that never reached Established closed (refused OPEN, collision, NOTIFICATION). */
  closed: [CloseReason];
  update: [UpdateMessage];
  sent: [{ updates: number; announced: number; withdrawn: number }];
  'end-of-rib': [AfiNumber];
}

export class Session extends EventEmitter<SessionEvents> {
  state: SessionState = 'Idle';
  readonly key: string;
  private readonly connections = new Set<Connection>();
  private established: Connection | undefined;
  private rib = new AdjRibOut();
  /**
   * The initial table, packed while in OpenConfirm so it leaves the moment we are Established, and
   * the route keys changed since it was packed ('all' after a setRoutes), sent right after it.
   */
  private prepared:
    | {
        conn: Connection;
        rib: AdjRibOut;
        messages: Buffer[];
        announced: number;
        catchUp: Set<string> | 'all';
      }
    | undefined;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting = false;
  private running = false;
  private stopBfd: (() => void) | undefined;
  private readonly log: Logger;
  negotiated: Negotiated | undefined;

  constructor(
    readonly options: PeerOptions,
    private readonly ctx: SessionContext,
  ) {
    super();
    this.key = options.peerAddress;
    this.log = ctx.logger.child({ peer: options.peerAddress });
    this.backoff = new Backoff({
      initialMs: (options.connectRetryTime ?? 5) * 1000,
      maxMs: (options.maxConnectRetryTime ?? 120) * 1000,
      stableMs: Math.max(60_000, (options.holdTime ?? 90) * 1000),
    });
  }

  get localAsn(): number {
    return this.options.localAsn ?? this.ctx.localAsn;
  }

  get prefixesAdvertised(): number {
    return this.rib.size;
  }

  /** §8.2.2 ManualStart (or ManualStart_with_PassiveTcpEstablishment when passive). */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.passive) this.setState('Active');
    else void this.connect();
  }

  /**
   * §8.2.2 ManualStop: Cease/Administrative Shutdown on every connection. With `graceful`, the
   * connections are dropped without a NOTIFICATION so a graceful-restart peer keeps our routes.
   */
  stop(options: { graceful?: boolean; subcode?: number; reason?: string } = {}): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    for (const c of [...this.connections]) {
      if (options.graceful) c.drop('graceful restart');
      else
        c.close(
          ErrorCode.CEASE,
          options.subcode ?? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
          undefined,
          options.reason,
        );
    }
    this.setState('Idle');
  }

  /** An incoming connection from this peer (passive open, §8.2.1.1). */
  accept(socket: Socket): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    if (this.options.ttl) setSocketTtl(socket, this.options.ttl);
    this.log.debug('incoming connection');
    this.adopt(socket, 'incoming');
  }

  /** Re-sends the whole table (route refresh towards us, or policy change). */
  refresh(): void {
    this.rib.clear();
    this.sync();
  }

  /** Asks the peer to resend its routes (RFC 2918); we drop them anyway, but it checks the path. */
  requestRefresh(afi: AfiNumber): void {
    if (this.negotiated?.routeRefresh) this.established?.write(encodeRouteRefresh(afi, Safi.UNICAST));
  }

  /** Sends the UPDATEs that bring the peer to the current route set (only `changed` keys if given). */
  sync(changed?: Set<string>): void {
    const conn = this.established;
    const n = this.negotiated;
    if (!conn || !n) {
      this.noteForPrepared(changed);
      return;
    }
    const exportCtx = this.exportContext(conn, n);
    const send = { maxLength: n.maxLength, fourOctetAs: n.fourOctetAs };
    // The policy answers for a route until that route changes (see PeerOptions.exportPolicy), so
    // only the changed routes go through it again.
    const diff = changed
      ? this.rib.sync(this.exportedChanged(changed), exportCtx, send, changed)
      : this.rib.sync(this.exported(), exportCtx, send);
    this.send(conn, diff.messages, diff.announced, diff.withdrawn);
  }

  /** Remembers changes the packed initial table does not have yet (see onEstablished). */
  private noteForPrepared(changed: Set<string> | undefined): void {
    const p = this.prepared;
    if (!p || p.catchUp === 'all') return;
    if (!changed) p.catchUp = 'all';
    else for (const key of changed) p.catchUp.add(key);
  }

  private send(conn: Connection, messages: Buffer[], announced: number, withdrawn: number): void {
    if (messages.length === 0) return;
    conn.writeAll(messages);
    this.reportSent(messages.length, announced, withdrawn);
  }

  private reportSent(updates: number, announced: number, withdrawn: number): void {
    this.ctx.stats.updatesSent.inc({ peer: this.key }, updates);
    this.ctx.stats.prefixesAdvertised.set({ peer: this.key }, this.rib.size);
    this.log.debug({ updates, announced, withdrawn }, 'sent');
    this.emit('sent', { updates, announced, withdrawn });
  }

  private exportContext(conn: Connection, n: Negotiated): ExportContext {
    const ctx: ExportContext = {
      localAsn: this.localAsn,
      peerAsn: this.options.peerAsn,
      localAddress: this.options.localAddress ?? conn.localAddress,
      families: n.families,
      ipv4OverIpv6NextHop: n.ipv4OverIpv6NextHop,
    };
    if (this.options.nextHopIPv4) ctx.nextHopIPv4 = this.options.nextHopIPv4;
    if (this.options.nextHopIPv6) ctx.nextHopIPv6 = this.options.nextHopIPv6;
    return ctx;
  }

  /** Packs the full table for `conn` while waiting for the peer's KEEPALIVE (OpenConfirm). */
  private prepare(conn: Connection): void {
    const n = conn.negotiated;
    if (!n) return;
    const rib = new AdjRibOut();
    const diff = rib.sync(this.exported(), this.exportContext(conn, n), {
      maxLength: n.maxLength,
      fourOctetAs: n.fourOctetAs,
    });
    this.prepared = { conn, rib, messages: diff.messages, announced: diff.announced, catchUp: new Set() };
  }

  /** The changed routes as this peer gets them (the speaker's own map when there is no policy). */
  private exportedChanged(changed: Set<string>): Map<string, CompiledRoute> {
    const policy = this.options.exportPolicy;
    const routes = this.ctx.routeMap();
    if (!policy) return routes;
    const out = new Map<string, CompiledRoute>();
    for (const key of changed) {
      const r = routes.get(key);
      if (!r) continue;
      const exported = policy(r.route);
      if (exported === r.route) out.set(key, r);
      else if (exported) out.set(key, this.ctx.compile(exported));
    }
    return out;
  }

  private *exported(): Iterable<CompiledRoute> {
    const policy = this.options.exportPolicy;
    for (const r of this.ctx.routes()) {
      if (!policy) {
        yield r;
        continue;
      }
      const out = policy(r.route);
      if (out === r.route) yield r;
      else if (out) yield this.ctx.compile(out);
    }
  }

  private async connect(): Promise<void> {
    if (!this.running || this.connecting) return;
    this.connecting = true;
    this.setState('Connect');
    try {
      const o = this.options;
      const socket = await connectTcp({
        peerAddress: o.peerAddress,
        peerPort: o.peerPort ?? BGP_PORT,
        timeoutMs: (o.connectTimeout ?? 10) * 1000,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        ...(o.password ? { password: o.password } : {}),
        ...(o.ttl ? { ttl: o.ttl } : {}),
      });
      this.connecting = false;
      // A connection that came in meanwhile and got Established wins without a word on this one.
      if (!this.running || this.established) {
        socket.destroy();
        return;
      }
      this.adopt(socket, 'outgoing');
    } catch (err) {
      this.connecting = false;
      this.log.debug({ err: (err as Error).message }, 'connect failed');
      this.scheduleRetry((err as Error).message);
    }
  }

  private scheduleRetry(why: string): void {
    if (!this.running || this.connections.size > 0 || this.connecting) {
      this.updateState();
      return;
    }
    clearTimeout(this.retryTimer);
    this.setState('Active');
    if (this.options.passive) return;
    const delay = this.backoff.next();
    this.log.info({ delayMs: delay, reason: why }, 'retrying');
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private routerId(socket: Socket): string {
    if (this.ctx.routerId) return this.ctx.routerId;
    const local = unmap(socket.localAddress ?? '');
    if (isIPv4(local)) return local;
    // No IPv4 address to borrow: a stable identifier from the host name (never 0.0.0.0).
    const h = createHash('sha256').update(hostname()).digest();
    return [h[0]! | 1, h[1], h[2], h[3]].join('.');
  }

  private capabilities(): Capabilities {
    const fams = this.options.families ?? ['ipv4', 'ipv6'];
    const afis = fams.map((f) => (f === 'ipv4' ? Afi.IPV4 : Afi.IPV6));
    const gr = this.options.gracefulRestart;
    const caps: Capabilities = {
      multiprotocol: afis.map((afi) => ({ afi, safi: Safi.UNICAST })),
      routeRefresh: true,
      fourOctetAs: this.localAsn,
      extendedMessage: this.options.extendedMessage ?? true,
      // RFC 8950: we can carry IPv4 routes with an IPv6 next hop.
      extendedNextHop: afis.includes(Afi.IPV4)
        ? [{ afi: Afi.IPV4, safi: Safi.UNICAST, nextHopAfi: Afi.IPV6 }]
        : [],
      unknown: [],
    };
    if (gr !== false) {
      caps.gracefulRestart = {
        restarting: this.ctx.restarting,
        notification: false,
        restartTime: Math.min(4095, gr?.restartTime ?? 120),
        // F bit set: the routes we announce stay valid while we restart (our "forwarding state" is
        // the service behind the address, which does not go away with the speaker process).
        families: afis.map((afi) => ({ afi, safi: Safi.UNICAST, forwarding: true })),
      };
    }
    return caps;
  }

  private adopt(socket: Socket, direction: 'outgoing' | 'incoming'): void {
    const conn = new Connection(socket, direction, {
      localAsn: this.localAsn,
      peerAsn: this.options.peerAsn,
      routerId: this.routerId(socket),
      holdTime: this.options.holdTime ?? 90,
      ...(this.options.keepaliveTime !== undefined ? { keepaliveTime: this.options.keepaliveTime } : {}),
      capabilities: this.capabilities(),
    });
    this.connections.add(conn);
    conn.on('open', (open) => this.onOpen(conn, open.bgpId));
    conn.on('established', (n) => this.onEstablished(conn, n));
    conn.on('update', (u) => this.onUpdate(u));
    conn.on('route-refresh', () => {
      this.log.info('route refresh requested: sending the full table');
      this.refresh();
    });
    conn.on('closed', (reason) => this.onClosed(conn, reason));
    conn.start();
    this.updateState();
  }

  /** §6.8 collision detection, run when an OPEN arrives on `conn`. */
  private onOpen(conn: Connection, peerId: string): void {
    this.updateState();
    for (const other of this.connections) {
      if (other === conn || other.state === 'Closed') continue;
      if (other.state === 'Established') {
        conn.close(
          ErrorCode.CEASE,
          CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
          undefined,
          'collision with Established',
        );
        return;
      }
      if (other.state !== 'OpenConfirm') continue;
      // Keep the connection opened by the side with the higher BGP identifier.
      const localId = ipNumber(conn.routerId);
      const keepIncoming = localId < ipNumber(peerId);
      const loser = (keepIncoming ? 'outgoing' : 'incoming') === conn.direction ? conn : other;
      loser.close(
        ErrorCode.CEASE,
        CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
        undefined,
        'collision resolution',
      );
      if (loser === conn) return;
    }
    // The peer's KEEPALIVE is usually on its way already: pack the table now, before we confirm
    // the OPEN with ours, so none of the packing happens after the peer sees us Established.
    this.prepare(conn);
  }

  private onEstablished(conn: Connection, n: Negotiated): void {
    this.established = conn;
    this.negotiated = n;
    // The table packed in OpenConfirm leaves first, before any bookkeeping or listener runs.
    const prepared = this.prepared?.conn === conn ? this.prepared : undefined;
    this.prepared = undefined;
    if (prepared) {
      this.rib = prepared.rib;
      conn.writeAll(prepared.messages);
    }
    this.backoff.established();
    this.ctx.stats.sessionUp.set({ peer: this.key }, 1);
    this.log.info(
      { families: n.families, holdTime: n.holdTime, peerAsn: n.peerAsn, peerRouterId: n.peerRouterId },
      'session established',
    );
    this.setState('Established');
    this.emit('established', n);
    if (prepared) {
      if (prepared.messages.length > 0) this.reportSent(prepared.messages.length, prepared.announced, 0);
      // Only the routes changed since the table was packed (usually none): no walk over the table.
      if (prepared.catchUp === 'all') this.sync();
      else if (prepared.catchUp.size > 0) this.sync(prepared.catchUp);
    } else {
      this.rib.clear();
      this.sync();
    }
    // RFC 4724 §4: End-of-RIB after the initial table, for every negotiated family.
    for (const afi of n.families) {
      conn.write(encodeEndOfRib(afi));
      this.emit('end-of-rib', afi);
    }
    if (this.options.bfd && this.ctx.startBfd) {
      const link = {
        localAddress: conn.localAddress,
        peerAddress: this.options.peerAddress,
        options: this.options.bfd,
      };
      this.stopBfd = this.ctx.startBfd(link, () => {
        this.log.warn('BFD down: closing the session');
        conn.close(ErrorCode.CEASE, CeaseSubcode.BFD_DOWN, undefined, 'BFD down');
      });
    }
  }

  private onUpdate(update: UpdateMessage): void {
    this.ctx.stats.updatesReceived.inc({ peer: this.key });
    if (update.treatAsWithdraw)
      this.log.warn({ reason: update.treatAsWithdraw }, 'malformed UPDATE treated as withdraw');
    // Routes from peers are validated and dropped: the speaker only announces (issue scope).
    this.emit('update', update);
  }

  private onClosed(conn: Connection, reason: CloseReason): void {
    this.connections.delete(conn);
    if (this.prepared?.conn === conn) this.prepared = undefined;
    if (reason.sent) {
      const { code, subcode } = reason.sent;
      this.ctx.stats.notificationsSent.inc({ peer: this.key, code, subcode });
      this.log.warn(
        { notification: describeNotification(code, subcode), reason: reason.message },
        'sent NOTIFICATION',
      );
    }
    if (reason.received) {
      const { code, subcode } = reason.received;
      this.ctx.stats.notificationsReceived.inc({ peer: this.key, code, subcode });
      this.log.warn({ notification: describeNotification(code, subcode) }, 'received NOTIFICATION');
    }
    if (conn === this.established) {
      this.established = undefined;
      this.negotiated = undefined;
      this.rib.clear();
      this.stopBfd?.();
      this.stopBfd = undefined;
      this.ctx.stats.sessionUp.set({ peer: this.key }, 0);
      this.ctx.stats.prefixesAdvertised.set({ peer: this.key }, 0);
      this.ctx.stats.flaps.inc({ peer: this.key });
      this.log.warn({ reason: reason.message }, 'session down');
      this.emit('down', reason);
    } else {
      this.emit('closed', reason);
    }
    this.scheduleRetry(reason.message);
  }

  private updateState(): void {
    let best: SessionState = this.connecting ? 'Connect' : this.running ? 'Active' : 'Idle';
    for (const c of this.connections) {
      if (c.state !== 'Closed' && STATE_NUMBER[c.state] > STATE_NUMBER[best]) best = c.state;
    }
    this.setState(best);
  }

  private setState(state: SessionState): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.ctx.stats.sessionState.set({ peer: this.key }, STATE_NUMBER[state]);
    this.log.debug({ from: previous, to: state }, 'state');
    this.emit('state', state, previous);
  }
}

function ipNumber(id: string): number {
  return id.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
