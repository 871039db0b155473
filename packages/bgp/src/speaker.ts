/**
 * The speaker: N peers and one set of routes to advertise. Every change to the set is coalesced
 * (all changes made in one tick go out together) and each Established session is brought to the
 * new set with only the UPDATEs it needs (see adj-rib-out.ts).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AfiNumber } from './constants.js';
import { CeaseSubcode } from './constants.js';
import { type CloseReason, type Negotiated, unmap } from './connection.js';
import { type CompiledRoute, compileRoute, type Route } from './route.js';
import {
  type BfdStarter,
  type PeerOptions,
  Session,
  type SessionContext,
  type SessionState,
} from './session.js';
import { BfdSession } from './bfd/index.js';
import { BgpStats } from './metrics.js';
import { Listener } from './transport.js';
import type { UpdateMessage } from './update.js';

export interface SpeakerOptions {
  localAsn: number;
  /** BGP identifier (dotted quad). Default: the IPv4 local address of each session. */
  routerId?: string;
  logger?: Logger;
  registry?: Registry;
  /** Accept incoming connections (needed for passive peers). Port default 179. */
  listen?: { address?: string; port?: number };
  /** Creates a BFD session for a peer that asks for it (default: RFC 5881 single hop, see bfd/). */
  startBfd?: BfdStarter;
}

export interface SpeakerEvents {
  state: [peer: string, state: SessionState, previous: SessionState];
  established: [peer: string, negotiated: Negotiated];
  down: [peer: string, reason: CloseReason];
  closed: [peer: string, reason: CloseReason];
  update: [peer: string, update: UpdateMessage];
  sent: [peer: string, counts: { updates: number; announced: number; withdrawn: number }];
  'end-of-rib': [peer: string, afi: AfiNumber];
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly stats: BgpStats;
  private readonly sessions = new Map<string, Session>();
  private readonly routes = new Map<string, CompiledRoute>();
  private readonly logger: Logger;
  private listener: Listener | undefined;
  private scheduled = false;
  /** Prefix keys changed since the last flush; undefined means everything (setRoutes). */
  private changed: Set<string> | undefined = new Set();
  private started = false;
  /** RFC 4724 §3: the Restart State bit is set in the OPENs sent soon after we start. */
  private restarting = true;

  constructor(private readonly options: SpeakerOptions) {
    super();
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.stats = new BgpStats(options.registry);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.options.listen) {
      const passwords = new Map<string, string>();
      for (const s of this.sessions.values())
        if (s.options.password) passwords.set(s.key, s.options.password);
      this.listener = new Listener({
        address: this.options.listen.address ?? '::',
        port: this.options.listen.port ?? 179,
        passwords,
        onConnection: (socket) => this.onIncoming(socket),
      });
      await this.listener.start();
    }
    for (const s of this.sessions.values()) s.start();
    // Past the first restart time, new sessions are ordinary (re)connections, not a restart.
    setTimeout(() => (this.restarting = false), 120_000).unref();
  }

  get listenPort(): number {
    return this.listener?.port ?? 0;
  }

  /** Stops every session: Cease/Administrative Shutdown, or with `graceful` a silent drop (RFC 4724). */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    this.started = false;
    for (const s of this.sessions.values()) s.stop(options);
    await this.listener?.stop();
    this.listener = undefined;
  }

  addPeer(options: PeerOptions): Session {
    if (this.sessions.has(options.peerAddress))
      throw new Error(`peer ${options.peerAddress} already configured`);
    const holdTime = options.holdTime ?? 90;
    if (holdTime !== 0 && holdTime < 3)
      throw new TypeError('hold time must be 0 or at least 3 seconds (RFC 4271 §4.2)');
    const session = new Session(options, this.context());
    this.sessions.set(options.peerAddress, session);
    const key = options.peerAddress;
    session.on('state', (state, previous) => this.emit('state', key, state, previous));
    session.on('established', (n) => this.emit('established', key, n));
    session.on('down', (r) => this.emit('down', key, r));
    session.on('closed', (r) => this.emit('closed', key, r));
    session.on('update', (u) => this.emit('update', key, u));
    session.on('sent', (c) => this.emit('sent', key, c));
    session.on('end-of-rib', (afi) => this.emit('end-of-rib', key, afi));
    if (options.password) this.listener?.setPassword(key, options.password);
    if (this.started) session.start();
    return session;
  }

  /** Removes a peer: Cease/Peer De-configured (RFC 4486 §4). */
  removePeer(peerAddress: string): void {
    const session = this.sessions.get(peerAddress);
    if (!session) return;
    session.stop({ subcode: CeaseSubcode.PEER_DECONFIGURED });
    this.sessions.delete(peerAddress);
  }

  peer(peerAddress: string): Session | undefined {
    return this.sessions.get(peerAddress);
  }

  peers(): Session[] {
    return [...this.sessions.values()];
  }

  /** Replaces the whole route set. Throws TypeError (nothing changed) if a route is invalid. */
  setRoutes(routes: Route[]): void {
    const compiled = routes.map(compileRoute);
    this.routes.clear();
    for (const r of compiled) this.routes.set(r.key, r);
    this.changed = undefined;
    this.schedule();
  }

  /** Adds or replaces one route. */
  announce(route: Route): void {
    const r = compileRoute(route);
    this.routes.set(r.key, r);
    this.changed?.add(r.key);
    this.schedule();
  }

  withdraw(prefix: string): void {
    const key = compileRoute({ prefix }).key;
    if (!this.routes.delete(key)) return;
    this.changed?.add(key);
    this.schedule();
  }

  get routeCount(): number {
    return this.routes.size;
  }

  /** Sends what changed now rather than at the end of the tick. */
  flush(): void {
    this.scheduled = false;
    const changed = this.changed;
    this.changed = new Set();
    for (const s of this.sessions.values()) s.sync(changed);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.scheduled) this.flush();
    });
  }

  private context(): SessionContext {
    const isRestarting = () => this.restarting;
    const ctx: SessionContext = {
      localAsn: this.options.localAsn,
      logger: this.logger,
      stats: this.stats,
      get restarting() {
        return isRestarting();
      },
      routes: () => this.routes.values(),
      routeMap: () => this.routes,
      compile: compileRoute,
    };
    if (this.options.routerId) ctx.routerId = this.options.routerId;
    ctx.startBfd = this.options.startBfd ?? ((link, onDown) => this.startBfd(link, onDown));
    return ctx;
  }

  /** One BFD session per BGP session (RFC 5882 §4.3): BFD down takes BGP down at once. */
  private startBfd(link: Parameters<BfdStarter>[0], onDown: () => void): () => void {
    const bfd = new BfdSession({
      localAddress: link.localAddress,
      peerAddress: link.peerAddress,
      desiredMinTxMs: link.options.desiredMinTxMs ?? 300,
      requiredMinRxMs: link.options.requiredMinRxMs ?? 300,
      detectMultiplier: link.options.detectMultiplier ?? 3,
      registry: this.stats.registry,
      logger: this.logger.child({ peer: link.peerAddress, protocol: 'bfd' }),
    });
    bfd.on('down', (event) => {
      // RFC 5882 §3.2: the peer taking BFD administratively down is not a path failure.
      if (!event.remoteAdminDown) onDown();
    });
    bfd.start();
    return () => void bfd.stop();
  }

  private onIncoming(socket: Socket): void {
    const remote = unmap(socket.remoteAddress ?? '');
    const session = this.sessions.get(remote);
    if (!session) {
      // Not a configured peer: refuse without a word (nothing has been exchanged yet).
      this.logger.warn({ remote }, 'connection from unknown peer refused');
      socket.destroy();
      return;
    }
    session.accept(socket);
  }
}
