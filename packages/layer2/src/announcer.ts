/**
 * The layer-2 announcer: makes a set of IPs reachable on the local segment by answering ARP (IPv4)
 * and Neighbor Discovery (IPv6) for them on every selected interface, and by telling the segment
 * about a takeover with gratuitous ARP / unsolicited Neighbor Advertisements.
 *
 * Life of an IP: announce() probes for it (RFC 5227 / RFC 4862 style, short, configurable), then
 * answers for it and sends a burst of gratuitous packets (t = 0 and every 1.1 s for five bursts, as
 * MetalLB does: the spacing beats Linux's one-second ARP locktime), then one refresh every
 * refreshIntervalMs so switch forwarding tables and caches never age out. withdraw() stops all of
 * that at once; there is no goodbye packet, the next owner's gratuitous packets move the caches.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { addressToBytes, formatAddress, parseAddress, type IPFamily } from '@portico/net';
import { formatMac } from './mac.js';
import { ArpResponder } from './arp-responder.js';
import {
  openMulticastGroups,
  openPacketSocket,
  watchLinksWithNetlink,
  type OpenFrameSocket,
  type OpenGroupMembership,
  type WatchLinks,
} from './frame-socket.js';
import { DEFAULT_EXCLUDED_INTERFACES, linkKey, readLinks, selectLinks, type Link } from './interfaces.js';
import { silentLogger, type Logger } from './logger.js';
import { NdpResponder } from './ndp-responder.js';
import type { AddressState, Conflict, ResponderContext } from './responder.js';
import { createMetrics, type Layer2Metrics } from './metrics.js';

export interface ProbeOptions {
  /** Probes sent per interface. */
  count: number;
  /** Time between two probes. */
  intervalMs: number;
  /** Time to wait for an answer after the last probe. */
  waitMs: number;
}

export interface AnnouncerOptions {
  /** Announce on exactly these interfaces; default: every suitable one (see selectLinks). */
  interfaces?: readonly string[];
  /** Names never used by default selection. */
  excludeInterfaces?: readonly RegExp[];
  /** Gratuitous refresh after the takeover burst; 0 disables it. Default 30 s. */
  refreshIntervalMs?: number;
  /** The takeover burst. Default 5 bursts 1.1 s apart. */
  burst?: { count: number; intervalMs: number };
  /**
   * The probe before claiming an IP. RFC 5227 asks for 3 probes over 1-2 s and RFC 4862 for one
   * second of DAD, too slow for failover; the default (2 probes 100 ms apart, 200 ms wait) costs
   * 0.3 s. false skips it.
   */
  probe?: ProbeOptions | false;
  /**
   * Interfaces are rescanned as soon as the kernel reports a link or address change (rtnetlink),
   * and also every rescanIntervalMs as a safety net. Default 10 s.
   */
  rescanIntervalMs?: number;
  /** See Announcer.mayAnswer. */
  mayAnswer?: (ip: string) => boolean;
  registry?: Registry;
  logger?: Logger;
  /** For tests: where frames go instead of AF_PACKET sockets. */
  openSocket?: OpenFrameSocket;
  openGroups?: OpenGroupMembership;
  readLinks?: () => Link[];
  /** For tests: the source of link change notifications; false for periodic rescans only. */
  watchLinks?: WatchLinks | false;
}

interface AddressRecord {
  ip: AnnouncedIp;
  state: AddressState;
  /** Answer only on these interfaces (an L2Advertisement's list); undefined: on every one. */
  interfaces?: ReadonlySet<string>;
  timer?: NodeJS.Timeout;
  ready: Promise<void>;
}

interface LinkResponders {
  link: Link;
  key: string;
  arp?: ArpResponder;
  ndp?: NdpResponder;
}

export const DEFAULT_PROBE: ProbeOptions = { count: 2, intervalMs: 100, waitMs: 200 };

export class Announcer extends EventEmitter<{ conflict: [Conflict] }> {
  readonly metrics: Layer2Metrics;
  readonly registry: Registry;
  readonly #logger: Logger;
  readonly #options: AnnouncerOptions;
  readonly #addresses = new Map<string, AddressRecord>();
  readonly #links = new Map<string, LinkResponders>();
  readonly #openSocket: OpenFrameSocket;
  readonly #openGroups: OpenGroupMembership;
  readonly #rescanTimer: NodeJS.Timeout;
  readonly #linkWatch: { close(): void } | undefined;
  #pendingRescan: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * Asked right before every answer and every gratuitous packet for an announced IP (canonical
   * text): false keeps the announcer silent for that IP at that moment. The speaker passes its
   * lease check, so a process that was stalled (GC, CPU starvation) past its lease sends nothing
   * on waking, even before its timers have run. Unset: always true.
   */
  mayAnswer: ((ip: string) => boolean) | undefined;

  constructor(options: AnnouncerOptions = {}) {
    super();
    this.#options = options;
    this.mayAnswer = options.mayAnswer;
    this.#logger = options.logger ?? silentLogger;
    this.registry = options.registry ?? new Registry();
    this.metrics = createMetrics(this.registry);
    this.#openSocket = options.openSocket ?? openPacketSocket;
    this.#openGroups = options.openGroups ?? openMulticastGroups;
    this.rescan();
    this.#rescanTimer = setInterval(() => this.rescan(), options.rescanIntervalMs ?? 10_000);
    const watch = options.watchLinks ?? watchLinksWithNetlink;
    try {
      // Changes come in bursts (link, then addresses): one rescan shortly after the first.
      this.#linkWatch = watch ? watch(() => this.#rescanSoon()) : undefined;
    } catch (err) {
      this.#logger.warn(
        { err: (err as Error).message },
        'no link change notifications; periodic rescans only',
      );
    }
  }

  #rescanSoon(): void {
    if (this.#pendingRescan || this.#closed) return;
    this.#pendingRescan = setTimeout(() => {
      this.#pendingRescan = undefined;
      this.rescan();
    }, 50);
  }

  /** Names of the interfaces currently announcing. */
  get interfaces(): string[] {
    return [...this.#links.keys()];
  }

  /** Canonical text of every IP announced or being probed. */
  get addresses(): string[] {
    return [...this.#addresses.keys()];
  }

  stateOf(ip: string): AddressState | undefined {
    const parsed = announcedIp(ip);
    return parsed && this.#addresses.get(parsed.text)?.state;
  }

  /**
   * Starts announcing an IP. Resolves once the probe is over and the first gratuitous packets
   * are out. Announcing an IP twice is one announcement (no reference counting); the second call
   * sets its interfaces. `interfaces` restricts it to those of the announcer's interfaces (an
   * L2Advertisement's list); undefined or empty: every one.
   */
  announce(ip: string, interfaces?: readonly string[]): Promise<void> {
    if (this.#closed) throw new Error('announcer is closed');
    const parsed = announcedIp(ip);
    if (!parsed) throw new TypeError(`not an IP address: ${ip}`);
    const only = interfaces && interfaces.length > 0 ? new Set(interfaces) : undefined;
    const existing = this.#addresses.get(parsed.text);
    if (existing) {
      this.#restrict(existing, only);
      return existing.ready;
    }
    const record: AddressRecord = { ip: parsed, state: 'probing', ready: Promise.resolve() };
    if (only) record.interfaces = only;
    this.#addresses.set(parsed.text, record);
    if (parsed.family === 'IPv6') for (const l of this.#links.values()) l.ndp?.join(parsed.bytes);
    if (this.interfacesOf(parsed.text).length === 0)
      this.#logger.warn(
        { ip: parsed.text, ...(only ? { wanted: [...only] } : {}), interfaces: this.interfaces },
        'no interface to announce on (yet)',
      );
    record.ready = this.#probe(record).then(() => {
      if (this.#addresses.get(parsed.text) !== record) return; // withdrawn while probing
      record.state = 'announced';
      this.#logger.info({ ip: parsed.text, interfaces: this.interfaces }, 'announcing');
      this.#gratuitous(record, this.#options.burst?.count ?? 5);
    });
    return record.ready;
  }

  /** The interfaces an IP is answered on (a subset of `interfaces`). */
  interfacesOf(ip: string): string[] {
    const parsed = announcedIp(ip);
    const record = parsed && this.#addresses.get(parsed.text);
    if (!record) return [];
    return this.interfaces.filter((name) => !record.interfaces || record.interfaces.has(name));
  }

  /** Changes the interfaces of an IP; those it gains hear a gratuitous packet at once. */
  #restrict(record: AddressRecord, only: ReadonlySet<string> | undefined): void {
    const before = record.interfaces;
    if (only) record.interfaces = only;
    else delete record.interfaces;
    if (record.state !== 'announced') return;
    for (const l of this.#links.values())
      if (before && !before.has(l.link.name) && (!only || only.has(l.link.name)))
        this.#sendGratuitous(l, record);
  }

  /** Stops answering for an IP immediately. Unknown IPs are ignored. */
  withdraw(ip: string): void {
    const parsed = announcedIp(ip);
    const record = parsed && this.#addresses.get(parsed.text);
    if (!parsed || !record) return;
    this.#addresses.delete(parsed.text);
    clearTimeout(record.timer);
    if (parsed.family === 'IPv6') for (const l of this.#links.values()) l.ndp?.leave(parsed.bytes);
    this.#logger.info({ ip: parsed.text }, 'withdrawn');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rescanTimer);
    clearTimeout(this.#pendingRescan);
    this.#linkWatch?.close();
    for (const ip of [...this.#addresses.keys()]) this.withdraw(ip);
    for (const name of [...this.#links.keys()]) this.#closeLink(name, 'announcer closed');
  }

  /** Picks up interfaces that appeared, changed (index, MAC, link-local address) or went away. */
  rescan(): void {
    if (this.#closed) return;
    const { interfaces } = this.#options;
    const excluded = this.#options.excludeInterfaces ?? DEFAULT_EXCLUDED_INTERFACES;
    const all = this.#options.readLinks
      ? this.#options.readLinks()
      : readLinks({
          filter: interfaces?.length
            ? (n) => interfaces.includes(n)
            : (n) => !excluded.some((re) => re.test(n)),
        });
    const wanted = new Map(selectLinks(all, interfaces, excluded).map((l) => [l.name, l]));
    for (const [name, current] of this.#links) {
      const link = wanted.get(name);
      if (!link) this.#closeLink(name, 'interface gone or no longer eligible');
      else if (linkKey(link) !== current.key)
        this.#closeLink(name, 'interface changed (index, MAC or link-local address)');
    }
    for (const [name, link] of wanted) if (!this.#links.has(name)) this.#openLink(link);
  }

  #openLink(link: Link): void {
    const context: ResponderContext = {
      link,
      stateOf: (ip) => this.#answerState(ip, link.name),
      metrics: this.metrics,
      logger: this.#logger,
      onConflict: (conflict) => this.#onConflict(conflict),
    };
    const responders: LinkResponders = { link, key: linkKey(link) };
    try {
      if (link.broadcast && !link.noArp) responders.arp = new ArpResponder(context, this.#openSocket);
      responders.ndp = new NdpResponder(context, this.#openSocket, this.#openGroups);
    } catch (err) {
      responders.arp?.close();
      this.#logger.error(
        { interface: link.name, err: (err as Error).message },
        'cannot open interface (CAP_NET_RAW?)',
      );
      return;
    }
    this.#links.set(link.name, responders);
    this.#logger.info({ interface: link.name, index: link.index, mac: formatMac(link.mac) }, 'interface up');
    // Bring the new interface up to date: groups joined, and the segment told where our IPs are.
    for (const record of this.#addresses.values()) {
      if (record.ip.family === 'IPv6') responders.ndp.join(record.ip.bytes);
      if (record.state === 'announced') this.#sendGratuitous(responders, record);
    }
  }

  #closeLink(name: string, reason: string): void {
    const responders = this.#links.get(name);
    if (!responders) return;
    this.#links.delete(name);
    responders.arp?.close();
    responders.ndp?.close();
    this.#logger.info({ interface: name }, reason);
  }

  async #probe(record: AddressRecord): Promise<void> {
    const probe = this.#options.probe ?? DEFAULT_PROBE;
    if (probe === false) return;
    for (let i = 0; i < probe.count; i++) {
      if (this.#addresses.get(record.ip.text) !== record) return;
      for (const l of this.#links.values()) {
        if (record.interfaces && !record.interfaces.has(l.link.name)) continue;
        if (record.ip.family === 'IPv4') l.arp?.sendProbe(record.ip.bytes);
        else l.ndp?.sendProbe(record.ip.bytes);
      }
      await sleep(i + 1 < probe.count ? probe.intervalMs : probe.waitMs);
    }
  }

  /** Sends on every interface, then schedules the next burst or, after the burst, the refresh. */
  #gratuitous(record: AddressRecord, burstsLeft: number): void {
    if (this.#addresses.get(record.ip.text) !== record) return;
    for (const l of this.#links.values()) this.#sendGratuitous(l, record);
    const left = burstsLeft - 1;
    const delay =
      left > 0 ? (this.#options.burst?.intervalMs ?? 1100) : (this.#options.refreshIntervalMs ?? 30_000);
    if (delay <= 0) return;
    record.timer = setTimeout(() => this.#gratuitous(record, left), delay);
  }

  /**
   * The state responders on one interface act on: an IP not announced on that interface, or an
   * announced IP the gate holds back, is not ours there right now.
   */
  #answerState(ip: string, linkName: string): AddressState | undefined {
    const record = this.#addresses.get(ip);
    if (!record || (record.interfaces && !record.interfaces.has(linkName))) return undefined;
    if (record.state === 'announced' && this.mayAnswer && !this.mayAnswer(ip)) return undefined;
    return record.state;
  }

  #sendGratuitous(responders: LinkResponders, record: AddressRecord): void {
    if (record.interfaces && !record.interfaces.has(responders.link.name)) return;
    if (this.mayAnswer && !this.mayAnswer(record.ip.text)) return;
    if (record.ip.family === 'IPv4') responders.arp?.sendGratuitous(record.ip.bytes);
    else responders.ndp?.sendUnsolicited(record.ip.bytes);
  }

  #onConflict(conflict: Conflict): void {
    this.metrics.conflicts.inc({ ip: conflict.ip, interface: conflict.interface });
    this.#logger.warn({ ...conflict }, 'address conflict: another station claims an IP we announce');
    this.emit('conflict', conflict);
  }
}

/** An announced address: its octets for ARP and NDP, its canonical text for keys, logs and labels. */
interface AnnouncedIp {
  readonly family: IPFamily;
  readonly bytes: Buffer;
  readonly text: string;
}

function announcedIp(text: string): AnnouncedIp | undefined {
  const address = parseAddress(text);
  if (!address) return undefined;
  const bytes = addressToBytes(address);
  return {
    family: address.family,
    bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    text: formatAddress(address),
  };
}
