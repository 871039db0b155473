/**
 * One TCP connection of a BGP session, from sending our OPEN to Established and on until it closes
 * (RFC 4271 §8.2.2, states OpenSent, OpenConfirm and Established). The peer-level machine (Idle,
 * Connect, Active, retries and collision detection) lives in session.ts and may own two of these
 * at once while a collision is resolved (§6.8).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  Afi,
  type AfiNumber,
  ErrorCode,
  FsmSubcode,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  OpenSubcode,
  Safi,
} from './constants.js';
import type { Capabilities, GracefulRestartCapability } from './capabilities.js';
import { BgpError } from './errors.js';
import { encodeKeepalive, encodeMessage, encodeNotification, type NotificationMessage } from './message.js';
import { encodeOpenBody, type OpenMessage, peerAs } from './open.js';
import { Receiver } from './receiver.js';
import type { UpdateMessage } from './update.js';

/** §8.2.2: the hold timer runs with a large value (4 minutes suggested) until the OPEN arrives. */
const OPEN_HOLD_MS = 240_000;
/** How long we wait for the peer to read our NOTIFICATION before tearing the socket down. */
const CLOSE_GRACE_MS = 1_000;

export type ConnectionState = 'OpenSent' | 'OpenConfirm' | 'Established' | 'Closed';

export interface ConnectionConfig {
  localAsn: number;
  peerAsn: number;
  routerId: string;
  /** Seconds; 0 disables keepalives and the hold timer (§4.2). */
  holdTime: number;
  /** Seconds between KEEPALIVEs; default a third of the negotiated hold time (§10). */
  keepaliveTime?: number;
  capabilities: Capabilities;
}

export interface Negotiated {
  holdTime: number;
  keepaliveTime: number;
  fourOctetAs: boolean;
  extendedMessage: boolean;
  routeRefresh: boolean;
  /** Families both sides advertised (RFC 4760 §8; IPv4 unicast when the peer advertised none). */
  families: AfiNumber[];
  /** RFC 8950: the peer accepts an IPv6 next hop for IPv4 NLRI. */
  ipv4OverIpv6NextHop: boolean;
  peerGracefulRestart?: GracefulRestartCapability;
  peerRouterId: string;
  peerAsn: number;
  peerCapabilities: Capabilities;
  maxLength: number;
}

export interface CloseReason {
  /** What we sent, if we closed with a NOTIFICATION. */
  sent?: NotificationMessage;
  /** What the peer sent, if it closed with a NOTIFICATION. */
  received?: NotificationMessage;
  /** A transport error or a plain close. */
  message: string;
}

export interface ConnectionEvents {
  open: [OpenMessage];
  established: [Negotiated];
  update: [UpdateMessage];
  'route-refresh': [AfiNumber, number];
  closed: [CloseReason];
}

function idToNumber(id: string): number {
  return id.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export class Connection extends EventEmitter<ConnectionEvents> {
  state: ConnectionState = 'OpenSent';
  negotiated: Negotiated | undefined;
  peerOpen: OpenMessage | undefined;
  private readonly receiver = new Receiver();
  private holdTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    readonly direction: 'outgoing' | 'incoming',
    private readonly config: ConnectionConfig,
  ) {
    super();
    this.receiver.context = { fourOctetAs: false, external: config.localAsn !== config.peerAsn };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.finish({ message: err.message }));
    socket.on('close', () => this.finish({ message: 'connection closed by peer' }));
  }

  get routerId(): string {
    return this.config.routerId;
  }

  get localAddress(): string {
    return unmap(this.socket.localAddress ?? '');
  }

  get remoteAddress(): string {
    return unmap(this.socket.remoteAddress ?? '');
  }

  /** §8.2.2 (Connect state, TcpConnectionConfirmed): send OPEN and wait for the peer's. */
  start(): void {
    const caps = this.config.capabilities;
    const body = encodeOpenBody(this.config.localAsn, this.config.holdTime, this.config.routerId, caps);
    this.write(encodeMessage(MessageType.OPEN, body));
    this.armHold(OPEN_HOLD_MS);
  }

  write(data: Uint8Array): boolean {
    if (this.state === 'Closed' || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /**
   * Writes several messages as one buffer: one syscall, made now. (Corking until the next tick
   * held the whole table back behind whatever ran first, a garbage collection included.)
   */
  writeAll(messages: Uint8Array[]): void {
    if (messages.length === 0) return;
    this.write(messages.length === 1 ? (messages[0] as Uint8Array) : Buffer.concat(messages));
  }

  /** Closes with a NOTIFICATION (§6: every close we start on an error or by choice says why). */
  close(code: number, subcode: number, data?: Uint8Array, message?: string): void {
    if (this.state === 'Closed') return;
    const sent = { code, subcode, data: data ?? new Uint8Array(0) };
    this.write(encodeNotification(code, subcode, data));
    this.socket.end();
    this.finish({ sent, message: message ?? 'closed by us' });
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  /** Drops the TCP connection without a NOTIFICATION: how a restart looks to a graceful-restart helper (RFC 4724 §4.2). */
  drop(message: string): void {
    this.socket.destroy();
    this.finish({ message });
  }

  private finish(reason: CloseReason): void {
    if (this.state === 'Closed') return;
    this.state = 'Closed';
    clearTimeout(this.holdTimer);
    clearInterval(this.keepaliveTimer);
    if (!reason.sent && !this.socket.destroyed) this.socket.destroy();
    this.emit('closed', reason);
  }

  private armHold(ms: number): void {
    clearTimeout(this.holdTimer);
    if (ms <= 0) return;
    this.holdTimer = setTimeout(() => {
      // §6.5: the hold timer expired; the NOTIFICATION carries no data.
      this.close(ErrorCode.HOLD_TIMER_EXPIRED, 0, undefined, 'hold timer expired');
    }, ms);
  }

  private onData(chunk: Buffer): void {
    for (const result of this.receiver.push(chunk)) {
      if (this.state === 'Closed') return;
      if (result.type === 'error') {
        const e = result.error;
        this.close(e.code, e.subcode, e.data, `protocol error: ${e.message}`);
        return;
      }
      // §8.2.2: any KEEPALIVE or UPDATE (we also count every other message) restarts the hold timer.
      if (this.negotiated) this.armHold(this.negotiated.holdTime * 1000);
      switch (result.type) {
        case 'notification':
          this.socket.destroy();
          this.finish({ received: result.notification, message: 'NOTIFICATION received' });
          return;
        case 'open':
          this.onOpen(result.open);
          break;
        case 'keepalive':
          if (this.state === 'OpenSent') return this.fsmError();
          if (this.state === 'OpenConfirm') this.becomeEstablished();
          break;
        case 'update':
          if (this.state !== 'Established') return this.fsmError();
          this.emit('update', result.update);
          break;
        case 'route-refresh':
          if (this.state !== 'Established') return this.fsmError();
          // RFC 2918 §4: ignore a refresh for a family we did not negotiate.
          if (this.negotiated?.families.includes(result.afi) && result.safi === Safi.UNICAST) {
            this.emit('route-refresh', result.afi, result.safi);
          }
          break;
      }
    }
  }

  /** RFC 6608: an unexpected message is an FSM error whose subcode names the state. */
  private fsmError(): void {
    const subcode =
      this.state === 'OpenSent'
        ? FsmSubcode.UNEXPECTED_IN_OPEN_SENT
        : this.state === 'OpenConfirm'
          ? FsmSubcode.UNEXPECTED_IN_OPEN_CONFIRM
          : FsmSubcode.UNEXPECTED_IN_ESTABLISHED;
    this.close(ErrorCode.FSM, subcode, undefined, `unexpected message in ${this.state}`);
  }

  private onOpen(open: OpenMessage): void {
    if (this.state !== 'OpenSent') return this.fsmError();
    try {
      this.negotiated = this.negotiate(open);
    } catch (err) {
      const e = err as BgpError;
      this.close(e.code, e.subcode, e.data, e.message);
      return;
    }
    this.peerOpen = open;
    const n = this.negotiated;
    this.receiver.context = {
      fourOctetAs: n.fourOctetAs,
      external: this.config.localAsn !== this.config.peerAsn,
    };
    this.receiver.maxLength = n.maxLength;
    this.state = 'OpenConfirm';
    // The session checks for a collision (§6.8) here and may close this connection; it also packs
    // the initial table now, before our KEEPALIVE lets the peer go Established.
    this.emit('open', open);
    if (this.state !== 'OpenConfirm') return;
    this.write(encodeKeepalive());
    this.armHold(n.holdTime * 1000);
    if (n.keepaliveTime > 0) {
      this.keepaliveTimer = setInterval(() => this.write(encodeKeepalive()), n.keepaliveTime * 1000);
    }
  }

  private negotiate(open: OpenMessage): Negotiated {
    const asn = peerAs(open);
    if (asn !== this.config.peerAsn) {
      const data = Uint8Array.of(open.myAs >> 8, open.myAs & 0xff);
      throw new BgpError(
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.BAD_PEER_AS,
        `peer AS ${asn}, want ${this.config.peerAsn}`,
        data,
      );
    }
    // §6.2 and RFC 6286 §2.1: the same identifier on both ends is only an error within one AS.
    if (idToNumber(open.bgpId) === idToNumber(this.config.routerId) && asn === this.config.localAsn) {
      throw new BgpError(
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.BAD_BGP_IDENTIFIER,
        `peer uses our BGP identifier`,
      );
    }
    const ours = this.config.capabilities;
    const theirs = open.capabilities;
    const holdTime = Math.min(this.config.holdTime, open.holdTime);
    const keepaliveTime =
      holdTime === 0
        ? 0
        : Math.max(
            1,
            Math.min(this.config.keepaliveTime ?? Math.floor(holdTime / 3), Math.floor(holdTime / 3)),
          );
    const peerFamilies =
      theirs.multiprotocol.length === 0 ? [{ afi: Afi.IPV4, safi: 1 }] : theirs.multiprotocol;
    const families = ours.multiprotocol
      .filter(
        (f) => f.safi === Safi.UNICAST && peerFamilies.some((p) => p.afi === f.afi && p.safi === f.safi),
      )
      .map((f) => f.afi);
    const extendedMessage = ours.extendedMessage && theirs.extendedMessage;
    const n: Negotiated = {
      holdTime,
      keepaliveTime,
      fourOctetAs: ours.fourOctetAs !== undefined && theirs.fourOctetAs !== undefined,
      extendedMessage,
      routeRefresh: theirs.routeRefresh,
      families,
      ipv4OverIpv6NextHop:
        ours.extendedNextHop.some((e) => e.afi === Afi.IPV4 && e.nextHopAfi === Afi.IPV6) &&
        theirs.extendedNextHop.some((e) => e.afi === Afi.IPV4 && e.nextHopAfi === Afi.IPV6),
      peerRouterId: open.bgpId,
      peerAsn: asn,
      peerCapabilities: theirs,
      maxLength: extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    };
    if (theirs.gracefulRestart) n.peerGracefulRestart = theirs.gracefulRestart;
    return n;
  }

  private becomeEstablished(): void {
    this.state = 'Established';
    this.emit('established', this.negotiated as Negotiated);
  }
}

export function unmap(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
