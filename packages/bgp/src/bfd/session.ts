/**
 * One BFD session in asynchronous mode (RFC 5880 sections 6.2 and 6.8) over single-hop UDP
 * (RFC 5881). No authentication, no Demand mode, no Echo function.
 */
import { EventEmitter } from 'node:events';
import { SocketAddress } from 'node:net';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock, type BfdClock, type BfdTimer } from './clock.js';
import {
  BfdDiagnostic,
  BfdState,
  SLOW_TX_INTERVAL_US,
  diagnosticName,
  stateName,
  type BfdStateName,
} from './constants.js';
import { allocateDiscriminator, releaseDiscriminator } from './discriminator.js';
import { bfdMetrics, type BfdMetrics } from './metrics.js';
import { defaultBfdNetwork } from './network.js';
import { encodeControlPacket, type ControlPacket } from './packet.js';
import { detectionTime, jitteredInterval, transmitInterval } from './timing.js';
import type { BfdEndpoint, BfdNetwork, BfdTransport, DropReason } from './transport.js';

export interface BfdSessionOptions {
  localAddress: string;
  peerAddress: string;
  /** Bind to this interface (needed for IPv6 link-local peers). */
  interface?: string | undefined;
  /** Our DesiredMinTxInterval once Up (RFC 5880 section 6.8.3 keeps it >= 1 s before). */
  desiredMinTxMs: number;
  /** Our RequiredMinRxInterval: the fastest rate at which we accept packets. */
  requiredMinRxMs: number;
  /** Detect Mult: how many of our packets the peer may miss before declaring us down. */
  detectMultiplier: number;
  /** Prometheus registry for the session's metrics; a private one if left out. */
  registry?: Registry | undefined;
  logger?: Logger | undefined;
  /** The sockets; tests pass a fake. */
  network?: BfdNetwork | undefined;
  /** Timers and jitter; tests pass a fake. */
  clock?: BfdClock | undefined;
}

/** Payload of the 'down' event. */
export interface BfdDownEvent {
  diagnostic: BfdDiagnostic;
  reason: string;
  /**
   * The peer took the session administratively down. RFC 5882 section 3.2: that is not a path
   * failure, so a client protocol such as BGP should not tear its session down for it.
   */
  remoteAdminDown: boolean;
}

export interface BfdSessionEvents {
  state: [state: BfdStateName, previous: BfdStateName];
  up: [];
  down: [event: BfdDownEvent];
}

export interface BfdStopOptions {
  /**
   * Stop sending without telling the peer (no AdminDown): the peer sees exactly what a crashed
   * or cut-off speaker looks like, and detects it after its Detection Time.
   */
  silent?: boolean;
}

const US_PER_MS = 1000;

function checkInterval(name: string, ms: number): number {
  const us = Math.round(ms * US_PER_MS);
  if (!Number.isFinite(ms) || us < 1 || us > 0xffffffff) {
    throw new RangeError(`BFD ${name} must be between 0.001 and ${0xffffffff / US_PER_MS} ms, got ${ms}`);
  }
  return us;
}

function canonicalAddress(address: string): string {
  const family = address.includes(':') ? 'ipv6' : 'ipv4';
  return new SocketAddress({ address, family }).address;
}

export class BfdSession extends EventEmitter<BfdSessionEvents> {
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly interface: string | undefined;
  readonly registry: Registry;

  // RFC 5880 section 6.8.1 state variables (intervals in microseconds).
  private sessionState: BfdState = BfdState.Down;
  private remoteSessionState: BfdState = BfdState.Down;
  readonly localDiscriminator: number;
  private remoteDiscriminator = 0;
  private localDiagnostic: BfdDiagnostic = BfdDiagnostic.None;
  private desiredMinTxInterval: number;
  private readonly requiredMinRxInterval: number;
  private remoteMinRxInterval = 1;
  private remoteDemandMode = false;
  private readonly detectMultiplier: number;
  // Learned from the last accepted packet, for the Detection Time (section 6.8.4).
  private remoteDetectMultiplier = 0;
  private remoteDesiredMinTxInterval = 0;

  /** The interval used once Up (section 6.8.3 only slows it down while not Up). */
  private readonly configuredMinTxInterval: number;
  /** Section 6.5: a Poll Sequence is in progress until a packet with F arrives. */
  private pollActive = false;

  private readonly clock: BfdClock;
  private readonly network: BfdNetwork;
  private readonly logger: Logger;
  private readonly metrics: BfdMetrics;
  private readonly labels: { local: string; peer: string };
  private transport: BfdTransport | undefined;
  private txTimer: BfdTimer | undefined;
  private detectTimer: BfdTimer | undefined;
  private lastTxAt = 0;
  private txInterval = 0;
  private started = false;
  private stopped = false;
  private sendFailing = false;

  constructor(options: BfdSessionOptions) {
    super();
    this.localAddress = canonicalAddress(options.localAddress);
    this.peerAddress = canonicalAddress(options.peerAddress);
    if (this.localAddress.includes(':') !== this.peerAddress.includes(':')) {
      throw new RangeError(
        `BFD local ${this.localAddress} and peer ${this.peerAddress} are of different families`,
      );
    }
    this.interface = options.interface;
    this.configuredMinTxInterval = checkInterval('desiredMinTxMs', options.desiredMinTxMs);
    this.requiredMinRxInterval = checkInterval('requiredMinRxMs', options.requiredMinRxMs);
    if (
      !Number.isInteger(options.detectMultiplier) ||
      options.detectMultiplier < 1 ||
      options.detectMultiplier > 255
    ) {
      throw new RangeError(`BFD detectMultiplier must be an integer 1-255, got ${options.detectMultiplier}`);
    }
    this.detectMultiplier = options.detectMultiplier;
    this.desiredMinTxInterval = Math.max(this.configuredMinTxInterval, SLOW_TX_INTERVAL_US);
    this.clock = options.clock ?? systemClock;
    this.network = options.network ?? defaultBfdNetwork;
    this.registry = options.registry ?? new Registry();
    this.metrics = bfdMetrics(this.registry);
    this.labels = { local: this.localAddress, peer: this.peerAddress };
    this.localDiscriminator = allocateDiscriminator(this.clock.random);
    this.logger = (options.logger ?? pino({ enabled: false })).child({
      component: 'bfd',
      local: this.localAddress,
      peer: this.peerAddress,
      discriminator: this.localDiscriminator,
    });
  }

  get state(): BfdStateName {
    return stateName(this.sessionState);
  }

  get remoteState(): BfdStateName {
    return stateName(this.remoteSessionState);
  }

  /** Our diagnostic: why the session last went down (RFC 5880 section 4.1). */
  get diagnostic(): BfdDiagnostic {
    return this.localDiagnostic;
  }

  /** The current Detection Time in ms (0 until the peer has been heard). */
  get detectionTimeMs(): number {
    return this.currentDetectionTime() / US_PER_MS;
  }

  /** The current periodic transmission interval in ms, before jitter. */
  get transmitIntervalMs(): number {
    return this.txInterval / US_PER_MS;
  }

  /** Opens the sockets and starts transmitting (the Active role, RFC 5880 section 6.1). */
  start(): void {
    if (this.started) throw new Error('BFD session already started');
    this.started = true;
    const endpoint: BfdEndpoint = {
      localAddress: this.localAddress,
      peerAddress: this.peerAddress,
      interface: this.interface,
      localDiscriminator: this.localDiscriminator,
      receive: (packet) => this.receive(packet),
      drop: (reason, detail) => this.drop(reason, detail),
    };
    try {
      this.transport = this.network.open(endpoint);
    } catch (error) {
      this.stopped = true;
      releaseDiscriminator(this.localDiscriminator);
      throw error;
    }
    this.metrics.sessionUp.set(this.labels, 0);
    this.logger.info({ state: this.state }, 'BFD session started');
    this.transmit();
  }

  /**
   * Ends the session. Unless `silent`, it goes AdminDown with diagnostic 7 (RFC 5880 section
   * 6.8.16) and sends Detect Mult AdminDown packets at the agreed rate, so the peer learns of it
   * even if some are lost; the promise resolves when the sockets are closed. A local stop does not
   * emit 'down' (the caller knows).
   */
  async stop(options: BfdStopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.started) {
      releaseDiscriminator(this.localDiscriminator);
      return;
    }
    this.cancelDetectTimer();
    this.txTimer?.cancel();
    this.txTimer = undefined;
    // Stop receiving now, so a new session to the same peer can start during the AdminDown linger.
    this.transport?.detach();
    if (!options.silent) {
      // The interval the peer currently expects from us, before AdminDown slows it (6.8.3).
      const interval = this.txInterval || this.desiredMinTxInterval;
      this.localDiagnostic = BfdDiagnostic.AdministrativelyDown;
      this.pollActive = false;
      this.setState(BfdState.AdminDown);
      await new Promise<void>((resolve) => {
        let sent = 0;
        const next = (): void => {
          this.sendPacket(false);
          if (++sent >= this.detectMultiplier) return resolve();
          const waitMs = jitteredInterval(interval, this.detectMultiplier, this.clock.random) / US_PER_MS;
          this.clock.setTimer(next, waitMs);
        };
        next();
      });
    }
    this.transport?.close();
    this.transport = undefined;
    // Released only now: the AdminDowns above still carried it.
    releaseDiscriminator(this.localDiscriminator);
    // A stopped session is no longer a series: a stale 0 would read as "down" forever.
    this.metrics.sessionUp.remove(this.labels);
    this.logger.info({ silent: options.silent === true }, 'BFD session stopped');
  }

  /** RFC 5880 section 6.8.6, from "set bfd.RemoteDiscr" on (the receiver did the checks before). */
  private receive(packet: ControlPacket): void {
    if (this.stopped) return;
    this.metrics.packetsReceived.inc(this.labels);
    this.remoteDiscriminator = packet.myDiscriminator;
    this.remoteSessionState = packet.state;
    this.remoteDemandMode = packet.demand;
    this.remoteMinRxInterval = packet.requiredMinRxInterval;
    this.remoteDetectMultiplier = packet.detectMultiplier;
    this.remoteDesiredMinTxInterval = packet.desiredMinTxInterval;
    if (packet.final && this.pollActive) {
      // Section 6.5: the Final answers our Poll; the peer has seen our new parameters.
      this.pollActive = false;
      this.logger.debug('BFD poll sequence completed');
    }

    const previous = this.sessionState;
    if (packet.state === BfdState.AdminDown) {
      if (this.sessionState !== BfdState.Down) {
        this.localDiagnostic = BfdDiagnostic.NeighborSignaledSessionDown;
        this.setState(BfdState.Down);
      }
    } else if (this.sessionState === BfdState.Down) {
      if (packet.state === BfdState.Down) this.setState(BfdState.Init);
      else if (packet.state === BfdState.Init) this.setState(BfdState.Up);
    } else if (this.sessionState === BfdState.Init) {
      if (packet.state === BfdState.Init || packet.state === BfdState.Up) this.setState(BfdState.Up);
    } else if (packet.state === BfdState.Down) {
      this.localDiagnostic = BfdDiagnostic.NeighborSignaledSessionDown;
      this.setState(BfdState.Down);
    }
    if (previous === BfdState.Up && this.sessionState === BfdState.Down) {
      this.emit('down', {
        diagnostic: this.localDiagnostic,
        reason: `peer signalled ${stateName(packet.state)}`,
        remoteAdminDown: packet.state === BfdState.AdminDown,
      });
    }

    // Section 6.8.6: a Poll is answered at once with a Final, regardless of the transmit timer.
    if (packet.poll) this.transmit({ final: true });
    else this.rescheduleTransmit();

    // Section 6.8.4: every accepted packet restarts the detection timer.
    this.restartDetectTimer();
  }

  private drop(reason: DropReason, detail: string): void {
    this.metrics.packetsDropped.inc({ ...this.labels, reason });
    this.logger.debug({ reason, detail }, 'BFD packet discarded');
  }

  private setState(next: BfdState): void {
    const previous = this.sessionState;
    if (next === previous) return;
    this.sessionState = next;
    if (next === BfdState.Up) {
      this.localDiagnostic = BfdDiagnostic.None;
      // Section 6.8.3: now Up, the configured (faster) rate replaces the 1 s floor; the change of
      // DesiredMinTxInterval is announced by a Poll Sequence (section 6.5). A decrease may take
      // effect at once.
      if (this.desiredMinTxInterval !== this.configuredMinTxInterval) {
        this.desiredMinTxInterval = this.configuredMinTxInterval;
        this.pollActive = true;
      }
    } else if (previous === BfdState.Up) {
      this.pollActive = false;
      this.desiredMinTxInterval = Math.max(this.configuredMinTxInterval, SLOW_TX_INTERVAL_US);
    }
    this.metrics.stateTransitions.inc({ ...this.labels, from: stateName(previous), to: stateName(next) });
    this.metrics.sessionUp.set(this.labels, next === BfdState.Up ? 1 : 0);
    this.logger.info(
      { from: stateName(previous), to: stateName(next), diagnostic: diagnosticName(this.localDiagnostic) },
      'BFD session state changed',
    );
    this.emit('state', stateName(next), stateName(previous));
    if (next === BfdState.Up) this.emit('up');
  }

  /** Section 6.8.4: the Detection Time passed without a packet from the peer. */
  private detectionTimeExpired(): void {
    this.detectTimer = undefined;
    // Section 6.8.1: bfd.RemoteDiscr is reset when a Detection Time passes in silence.
    this.remoteDiscriminator = 0;
    this.remoteSessionState = BfdState.Down;
    if (this.sessionState === BfdState.Init || this.sessionState === BfdState.Up) {
      const wasUp = this.sessionState === BfdState.Up;
      const detection = this.currentDetectionTime() / US_PER_MS;
      this.localDiagnostic = BfdDiagnostic.ControlDetectionTimeExpired;
      this.setState(BfdState.Down);
      if (wasUp) {
        this.emit('down', {
          diagnostic: this.localDiagnostic,
          reason: `no packet from the peer for ${detection} ms`,
          remoteAdminDown: false,
        });
      }
      this.rescheduleTransmit();
    }
  }

  private currentDetectionTime(): number {
    if (this.remoteDetectMultiplier === 0) return 0;
    return detectionTime(
      this.remoteDetectMultiplier,
      this.requiredMinRxInterval,
      this.remoteDesiredMinTxInterval,
    );
  }

  private restartDetectTimer(): void {
    this.cancelDetectTimer();
    const ms = this.currentDetectionTime() / US_PER_MS;
    if (ms > 0) this.detectTimer = this.clock.setTimer(() => this.detectionTimeExpired(), ms);
  }

  private cancelDetectTimer(): void {
    this.detectTimer?.cancel();
    this.detectTimer = undefined;
  }

  /**
   * Section 6.8.7: periodic transmission is suppressed when the peer asked for no packets
   * (RequiredMinRxInterval 0) or runs Demand mode with both sides Up.
   */
  private periodicInterval(): number {
    const remoteDemandActive =
      this.remoteDemandMode && this.sessionState === BfdState.Up && this.remoteSessionState === BfdState.Up;
    if (remoteDemandActive) return 0;
    return transmitInterval(this.desiredMinTxInterval, this.remoteMinRxInterval);
  }

  /** After a parameter change: move the next packet earlier if the interval got shorter. */
  private rescheduleTransmit(): void {
    if (!this.transport) return;
    const interval = this.periodicInterval();
    if (interval === this.txInterval && this.txTimer) return;
    this.txInterval = interval;
    this.txTimer?.cancel();
    this.txTimer = undefined;
    if (interval === 0) return;
    const dueIn = jitteredInterval(interval, this.detectMultiplier, this.clock.random) / US_PER_MS;
    const wait = Math.max(0, this.lastTxAt + dueIn - this.clock.now());
    this.txTimer = this.clock.setTimer(() => this.transmit(), wait);
  }

  /** Sends one packet now and schedules the next periodic one (section 6.8.7). */
  private transmit(options: { final?: boolean } = {}): void {
    if (!this.transport || this.stopped) return;
    this.sendPacket(options.final === true);
    this.txTimer?.cancel();
    this.txTimer = undefined;
    this.rescheduleTransmit();
  }

  private sendPacket(final: boolean): void {
    if (!this.transport) return;
    const packet: ControlPacket = {
      diagnostic: this.localDiagnostic,
      state: this.sessionState,
      // Section 6.5: P and F are never both set; a Final goes out without our Poll.
      poll: this.pollActive && !final,
      final,
      controlPlaneIndependent: false,
      demand: false,
      multipoint: false,
      detectMultiplier: this.detectMultiplier,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscriminator,
      desiredMinTxInterval: this.desiredMinTxInterval,
      requiredMinRxInterval: this.requiredMinRxInterval,
      // Section 4.1: zero means we do not support receiving Echo packets.
      requiredMinEchoRxInterval: 0,
    };
    this.lastTxAt = this.clock.now();
    try {
      this.transport.send(encodeControlPacket(packet));
      this.metrics.packetsSent.inc(this.labels);
      if (this.sendFailing) this.logger.info('BFD packets can be sent again');
      this.sendFailing = false;
    } catch (error) {
      // An unreachable peer (link down, no route) is what BFD is there to detect: keep trying.
      if (!this.sendFailing) this.logger.warn({ err: error }, 'BFD packet could not be sent');
      this.sendFailing = true;
    }
  }
}
