import { afterEach, describe, expect, it, vi } from 'vitest';
import { Announcer, type AnnouncerOptions } from '../src/announcer.js';
import { addressToBytes, formatAddressBytes, parseAddress } from '@portico/net';
import { BROADCAST_MAC } from '../src/mac.js';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from '../src/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet, encodeEthernet } from '../src/ethernet.js';
import { decodeIpv6, encodeIpv6 } from '../src/ipv6.js';
import { decodeNeighborMessage, type NeighborMessage } from '../src/ndp.js';
import type { Conflict } from '../src/responder.js';
import { fakeNetwork, link } from '../src/testing.js';
import { ndPacket } from './nd-packet.js';

const VIP4 = '198.51.100.10';
const VIP6 = '2001:db8:5::10';
const v4 = (t: string): Buffer => Buffer.from(addressToBytes(parseAddress(t)!));
const v6 = (t: string): Buffer => Buffer.from(addressToBytes(parseAddress(t)!));
const ourMac = link().mac;
const clientMac = Buffer.from('02000000c11e', 'hex');
const otherMac = Buffer.from('0200000000b2', 'hex');

let announcer: Announcer | undefined;
afterEach(() => {
  announcer?.close();
  announcer = undefined;
  vi.useRealTimers();
});

function start(options: Partial<AnnouncerOptions> = {}, links = [link()]) {
  const net = fakeNetwork();
  let current = links;
  announcer = new Announcer({
    probe: false,
    burst: { count: 1, intervalMs: 1100 },
    refreshIntervalMs: 0,
    rescanIntervalMs: 60_000,
    openSocket: net.openSocket,
    openGroups: net.openGroups,
    readLinks: () => current,
    watchLinks: false,
    ...options,
  });
  return { net, announcer, setLinks: (l: typeof links) => (current = l) };
}

function arpFrame(
  op: number,
  senderMac: Buffer,
  senderIp: string,
  targetIp: string,
  destination = BROADCAST_MAC,
) {
  const payload = encodeArp({
    operation: op,
    senderMac,
    senderIp: v4(senderIp),
    targetMac: Buffer.alloc(6),
    targetIp: v4(targetIp),
  });
  return encodeEthernet({ destination, source: senderMac, ethertype: ETHERTYPE_ARP, payload });
}

function ndFrame(
  message: NeighborMessage,
  source: string,
  destination: string,
  srcMac: Buffer,
  dstMac: Buffer,
  hopLimit = 255,
) {
  const payload = encodeIpv6(ndPacket(message, source, destination, hopLimit));
  return encodeEthernet({ destination: dstMac, source: srcMac, ethertype: ETHERTYPE_IPV6, payload });
}

const decodeNd = (frame: Buffer) => {
  const eth = decodeEthernet(frame)!;
  const ip = decodeIpv6(eth.payload)!;
  return { eth, ip, message: decodeNeighborMessage(ip) };
};

async function metric(a: Announcer, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await a.registry.getSingleMetric(name)!.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

describe('ARP responder', () => {
  it('sends a gratuitous request and reply on announce', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP4);
    const sent = net
      .socket(2, ETHERTYPE_ARP)
      .sent.map((f) => ({ eth: decodeEthernet(f)!, arp: decodeArp(decodeEthernet(f)!.payload)! }));
    expect(sent.map((s) => s.arp.operation)).toEqual([ARP_REQUEST, ARP_REPLY]);
    for (const { eth, arp } of sent) {
      expect(eth.destination.equals(BROADCAST_MAC)).toBe(true);
      expect(eth.source.equals(ourMac)).toBe(true);
      expect(arp.senderIp.equals(v4(VIP4)) && arp.targetIp.equals(v4(VIP4))).toBe(true);
      expect(arp.senderMac.equals(ourMac)).toBe(true);
    }
    expect(await metric(a, 'portico_layer2_gratuitous_sent_total', { ip: VIP4, interface: 'eth0' })).toBe(2);
  });

  it('answers a request for an announced IP with a unicast reply, and nothing else', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP4);
    const socket = net.socket(2, ETHERTYPE_ARP);
    socket.sent.length = 0;
    socket.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', '198.51.100.11')); // not ours
    socket.receive(arpFrame(ARP_REPLY, clientMac, '198.51.100.99', VIP4)); // not a request
    socket.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4, otherMac)); // for another station
    expect(socket.sent).toHaveLength(0);
    socket.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    expect(socket.sent).toHaveLength(1);
    const eth = decodeEthernet(socket.sent[0]!)!;
    expect(eth.destination.equals(clientMac)).toBe(true);
    expect(decodeArp(eth.payload)).toEqual({
      operation: ARP_REPLY,
      senderMac: ourMac,
      senderIp: v4(VIP4),
      targetMac: clientMac,
      targetIp: v4('198.51.100.99'),
    });
    expect(await metric(a, 'portico_layer2_requests_received_total', { ip: VIP4 })).toBe(1);
    expect(await metric(a, 'portico_layer2_responses_sent_total', { ip: VIP4 })).toBe(1);
  });

  it('stops answering at once on withdraw', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP4);
    const socket = net.socket(2, ETHERTYPE_ARP);
    a.withdraw(VIP4);
    socket.sent.length = 0;
    socket.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    expect(socket.sent).toHaveLength(0);
    expect(a.addresses).toEqual([]);
  });

  it('reports a gratuitous ARP from another MAC as a conflict', async () => {
    const { net, announcer: a } = start();
    const conflicts: Conflict[] = [];
    a.on('conflict', (c) => conflicts.push(c));
    await a.announce(VIP4);
    net.socket(2, ETHERTYPE_ARP).receive(arpFrame(ARP_REQUEST, otherMac, VIP4, VIP4));
    net.socket(2, ETHERTYPE_ARP).receive(arpFrame(ARP_REQUEST, ourMac, VIP4, VIP4)); // our own: fine
    expect(conflicts).toEqual([
      {
        ip: VIP4,
        interface: 'eth0',
        protocol: 'arp',
        mac: '02:00:00:00:00:b2',
        phase: 'announced',
        evidence: 'gratuitous ARP',
      },
    ]);
    expect(await metric(a, 'portico_layer2_conflicts_total', { ip: VIP4 })).toBe(1);
  });

  it('probes before announcing (RFC 5227) and reports a reply during the probe', async () => {
    const { net, announcer: a } = start({ probe: { count: 2, intervalMs: 20, waitMs: 40 } });
    const conflicts: Conflict[] = [];
    a.on('conflict', (c) => conflicts.push(c));
    const done = a.announce(VIP4);
    const socket = net.socket(2, ETHERTYPE_ARP);
    const probe = decodeArp(decodeEthernet(socket.sent[0]!)!.payload)!;
    expect(probe.operation).toBe(ARP_REQUEST);
    expect(probe.senderIp.equals(Buffer.alloc(4))).toBe(true);
    expect(probe.targetIp.equals(v4(VIP4))).toBe(true);
    expect(a.stateOf(VIP4)).toBe('probing');
    // Not answered while probing.
    socket.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    expect(socket.sent).toHaveLength(1);
    socket.receive(arpFrame(ARP_REPLY, otherMac, VIP4, '0.0.0.0'));
    await done;
    expect(conflicts.map((c) => [c.phase, c.evidence])).toEqual([['probing', 'ARP reply']]);
    expect(a.stateOf(VIP4)).toBe('announced');
    const probes = socket.sent.filter((f) =>
      decodeArp(decodeEthernet(f)!.payload)!.senderIp.equals(Buffer.alloc(4)),
    );
    expect(probes).toHaveLength(2);
  });

  it('reports another station probing for the same IP while we probe (RFC 5227 §2.1.1)', async () => {
    const { net, announcer: a } = start({ probe: { count: 1, intervalMs: 20, waitMs: 40 } });
    const conflicts: Conflict[] = [];
    a.on('conflict', (c) => conflicts.push(c));
    const done = a.announce(VIP4);
    net.socket(2, ETHERTYPE_ARP).receive(arpFrame(ARP_REQUEST, otherMac, '0.0.0.0', VIP4));
    await done;
    expect(conflicts.map((c) => [c.phase, c.evidence, c.mac])).toEqual([
      ['probing', 'simultaneous ARP probe', '02:00:00:00:00:b2'],
    ]);
  });

  it('does not open ARP on a NOARP interface', () => {
    const { net } = start({ interfaces: ['eth0'] }, [link({ noArp: true })]);
    expect(net.sockets.map((s) => s.options.ethertype)).toEqual([ETHERTYPE_IPV6]);
  });
});

describe('NDP responder', () => {
  const solicitedNodeMac = Buffer.from('3333ff000010', 'hex');

  /** An announcer with VIP6 announced, and its IPv6 socket with the announcement's frames cleared. */
  async function announcedV6() {
    const { net, announcer: a } = start();
    await a.announce(VIP6);
    const socket = net.socket(2, ETHERTYPE_IPV6);
    socket.sent.length = 0;
    return { announcer: a, socket };
  }

  it('joins the solicited-node group in the kernel (MLD) and on the socket; leaves on withdraw', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP6);
    expect([...net.groups[0]!.joined]).toEqual(['2/ff0200000000000000000001ff000010']);
    expect([...net.socket(2, ETHERTYPE_IPV6).memberships]).toEqual(['3333ff000010']);
    a.withdraw(VIP6);
    expect(net.groups[0]!.joined.size).toBe(0);
    expect(net.socket(2, ETHERTYPE_IPV6).memberships.size).toBe(0);
  });

  it('counts group users: two IPs sharing a group keep it until both are withdrawn', async () => {
    const { net, announcer: a } = start();
    await a.announce('2001:db8:5::10');
    await a.announce('2001:db8:6::10'); // same low 24 bits
    a.withdraw('2001:db8:5::10');
    expect(net.groups[0]!.joined.size).toBe(1);
    a.withdraw('2001:db8:6::10');
    expect(net.groups[0]!.joined.size).toBe(0);
  });

  it('sends an unsolicited NA with Override to all nodes on announce', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP6);
    const sent = net.socket(2, ETHERTYPE_IPV6).sent;
    expect(sent).toHaveLength(1);
    const { eth, ip, message } = decodeNd(sent[0]!);
    expect(eth.destination.toString('hex')).toBe('333300000001');
    expect(formatAddressBytes(ip.destination)).toBe('ff02::1');
    expect(formatAddressBytes(ip.source)).toBe('fe80::5301');
    expect(ip.hopLimit).toBe(255);
    expect(message).toEqual({
      type: 'advertisement',
      target: v6(VIP6),
      router: false,
      solicited: false,
      override: true,
      targetMac: ourMac,
    });
  });

  it('answers a multicast NS with a solicited NA to the asker', async () => {
    const { announcer: a, socket } = await announcedV6();
    socket.receive(
      ndFrame(
        { type: 'solicitation', target: v6(VIP6), sourceMac: clientMac },
        '2001:db8:5::99',
        'ff02::1:ff00:10',
        clientMac,
        solicitedNodeMac,
      ),
    );
    expect(socket.sent).toHaveLength(1);
    const { eth, ip, message } = decodeNd(socket.sent[0]!);
    expect(eth.destination.equals(clientMac)).toBe(true);
    expect(formatAddressBytes(ip.destination)).toBe('2001:db8:5::99');
    expect(message).toEqual({
      type: 'advertisement',
      target: v6(VIP6),
      router: false,
      solicited: true,
      override: true,
      targetMac: ourMac,
    });
    expect(await metric(a, 'portico_layer2_responses_sent_total', { ip: VIP6 })).toBe(1);
  });

  it('answers a unicast reachability probe without a source link-layer option (§7.2.4)', async () => {
    const { socket } = await announcedV6();
    socket.receive(
      ndFrame({ type: 'solicitation', target: v6(VIP6) }, '2001:db8:5::99', VIP6, clientMac, ourMac),
    );
    const { eth, message } = decodeNd(socket.sent[0]!);
    expect(eth.destination.equals(clientMac)).toBe(true);
    expect(message?.type === 'advertisement' && message.solicited).toBe(true);
  });

  it('answers a DAD probe for our address to all nodes, unsolicited (§7.2.4)', async () => {
    const { socket } = await announcedV6();
    socket.receive(
      ndFrame(
        { type: 'solicitation', target: v6(VIP6) },
        '::',
        'ff02::1:ff00:10',
        otherMac,
        solicitedNodeMac,
      ),
    );
    const { ip, message } = decodeNd(socket.sent[0]!);
    expect(formatAddressBytes(ip.destination)).toBe('ff02::1');
    expect(message?.type === 'advertisement' && !message.solicited && message.override).toBe(true);
  });

  it('ignores an NS with hop limit below 255, and anything after withdraw', async () => {
    const { announcer: a, socket } = await announcedV6();
    const ns: NeighborMessage = { type: 'solicitation', target: v6(VIP6), sourceMac: clientMac };
    socket.receive(ndFrame(ns, '2001:db8:5::99', 'ff02::1:ff00:10', clientMac, solicitedNodeMac, 254));
    expect(socket.sent).toHaveLength(0);
    a.withdraw(VIP6);
    socket.receive(ndFrame(ns, '2001:db8:5::99', 'ff02::1:ff00:10', clientMac, solicitedNodeMac));
    expect(socket.sent).toHaveLength(0);
  });

  it('reports an NA from another MAC for our IP as a conflict', async () => {
    const { net, announcer: a } = start();
    const conflicts: Conflict[] = [];
    a.on('conflict', (c) => conflicts.push(c));
    await a.announce(VIP6);
    const na: NeighborMessage = {
      type: 'advertisement',
      target: v6(VIP6),
      router: false,
      solicited: false,
      override: true,
      targetMac: otherMac,
    };
    net
      .socket(2, ETHERTYPE_IPV6)
      .receive(ndFrame(na, 'fe80::b2', 'ff02::1', otherMac, Buffer.from('333300000001', 'hex')));
    expect(conflicts).toEqual([
      {
        ip: VIP6,
        interface: 'eth0',
        protocol: 'ndp',
        mac: '02:00:00:00:00:b2',
        phase: 'announced',
        evidence: 'Neighbor Advertisement',
      },
    ]);
  });

  it('reports another node running DAD for the same address while we probe (RFC 4862 §5.4.3)', async () => {
    const { net, announcer: a } = start({ probe: { count: 1, intervalMs: 20, waitMs: 40 } });
    const conflicts: Conflict[] = [];
    a.on('conflict', (c) => conflicts.push(c));
    const done = a.announce(VIP6);
    const socket = net.socket(2, ETHERTYPE_IPV6);
    socket.receive(
      ndFrame(
        { type: 'solicitation', target: v6(VIP6) },
        '::',
        'ff02::1:ff00:10',
        otherMac,
        solicitedNodeMac,
      ),
    );
    expect(socket.sent).toHaveLength(1); // our probe only: a DAD probe is not answered while probing
    await done;
    expect(conflicts.map((c) => [c.protocol, c.phase, c.evidence])).toEqual([
      ['ndp', 'probing', 'simultaneous DAD probe'],
    ]);
  });

  it('probes with DAD (from ::, no options) before announcing', async () => {
    const { net, announcer: a } = start({ probe: { count: 1, intervalMs: 10, waitMs: 10 } });
    await a.announce(VIP6);
    const { ip, message } = decodeNd(net.socket(2, ETHERTYPE_IPV6).sent[0]!);
    expect(formatAddressBytes(ip.source)).toBe('::');
    expect(formatAddressBytes(ip.destination)).toBe('ff02::1:ff00:10');
    expect(message).toEqual({ type: 'solicitation', target: v6(VIP6) });
  });
});

describe('Announcer', () => {
  it('sends the takeover burst at 0, 1.1, 2.2, 3.3, 4.4 s, then refreshes', async () => {
    vi.useFakeTimers();
    const { net, announcer: a } = start({ burst: { count: 5, intervalMs: 1100 }, refreshIntervalMs: 30_000 });
    await a.announce(VIP4);
    const socket = net.socket(2, ETHERTYPE_ARP);
    const count = () => socket.sent.length / 2;
    expect(count()).toBe(1);
    await vi.advanceTimersByTimeAsync(1099);
    expect(count()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(count()).toBe(2);
    await vi.advanceTimersByTimeAsync(3300);
    expect(count()).toBe(5);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(count()).toBe(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(count()).toBe(6);
    a.withdraw(VIP4);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(count()).toBe(6);
  });

  it('announcing twice is one announcement; bad input is refused', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP4);
    await a.announce('198.51.100.10');
    expect(net.socket(2, ETHERTYPE_ARP).sent).toHaveLength(2);
    expect(() => a.announce('198.51.100.0/24')).toThrow(TypeError);
  });

  it('picks up interfaces that appear, change or go away on rescan', async () => {
    const { net, announcer: a, setLinks } = start({}, []);
    await a.announce(VIP4);
    expect(a.interfaces).toEqual([]);
    setLinks([link()]);
    a.rescan();
    expect(a.interfaces).toEqual(['eth0']);
    // A new interface is told about announced IPs straight away.
    expect(net.socket(2, ETHERTYPE_ARP).sent).toHaveLength(2);
    setLinks([link({ index: 7 })]); // re-created: new index
    a.rescan();
    expect(net.sockets.filter((s) => s.options.ifindex === 2).every((s) => s.closed)).toBe(true);
    expect(net.socket(7, ETHERTYPE_ARP).sent).toHaveLength(2);
    setLinks([link({ index: 7, mac: Buffer.from('020000005302', 'hex') })]); // new MAC
    a.rescan();
    const reopened = net.socket(7, ETHERTYPE_ARP);
    expect(decodeEthernet(reopened.sent[0]!)!.source.toString('hex')).toBe('020000005302');
    setLinks([]);
    a.rescan();
    expect(a.interfaces).toEqual([]);
    expect(net.sockets.every((s) => s.closed)).toBe(true);
  });

  it('rescans once, shortly, after a burst of link change notifications', async () => {
    let notify = (): void => {};
    let watchClosed = false;
    const watchLinks = (onChange: () => void) => {
      notify = onChange;
      return { close: () => (watchClosed = true) };
    };
    const { announcer: a, setLinks } = start({ watchLinks }, []);
    setLinks([link()]);
    notify();
    notify();
    expect(a.interfaces).toEqual([]);
    await vi.waitFor(() => expect(a.interfaces).toEqual(['eth0']), { timeout: 1000, interval: 10 });
    a.close();
    expect(watchClosed).toBe(true);
  });

  it('close() withdraws everything and closes every socket', async () => {
    const { net, announcer: a } = start();
    await a.announce(VIP4);
    await a.announce(VIP6);
    a.close();
    expect(a.addresses).toEqual([]);
    expect(net.sockets.every((s) => s.closed)).toBe(true);
    expect(net.groups.every((g) => g.closed)).toBe(true);
    expect(() => a.announce(VIP4)).toThrow(/closed/);
  });

  it('shares counters between announcers on one registry', async () => {
    const first = start();
    const second = new Announcer({
      watchLinks: false,
      registry: first.announcer.registry,
      readLinks: () => [],
      openSocket: first.net.openSocket,
      openGroups: first.net.openGroups,
    });
    expect(second.metrics.conflicts).toBe(first.announcer.metrics.conflicts);
    second.close();
  });
});

describe('per-IP interfaces (an L2Advertisement interfaces list)', () => {
  const eth1 = link({ name: 'eth1', index: 3, mac: Buffer.from('020000005302', 'hex') });

  it('answers and sends gratuitous packets only on the IP’s interfaces', async () => {
    const { net, announcer: a } = start({}, [link(), eth1]);
    await a.announce(VIP4, ['eth1']);
    const [on0, on1] = [net.socket(2, ETHERTYPE_ARP), net.socket(3, ETHERTYPE_ARP)];
    expect(on0.sent).toHaveLength(0);
    expect(on1.sent).toHaveLength(2);
    expect(a.interfacesOf(VIP4)).toEqual(['eth1']);
    on1.sent.length = 0;
    on0.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    on1.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    expect(on0.sent).toHaveLength(0);
    expect(on1.sent).toHaveLength(1);
  });

  it('a second announce changes the interfaces; a gained interface hears a gratuitous packet', async () => {
    const { net, announcer: a } = start({}, [link(), eth1]);
    await a.announce(VIP4, ['eth1']);
    const on0 = net.socket(2, ETHERTYPE_ARP);
    await a.announce(VIP4);
    expect(on0.sent).toHaveLength(2);
    expect(a.interfacesOf(VIP4)).toEqual(['eth0', 'eth1']);
    await a.announce(VIP4, ['eth1']);
    on0.sent.length = 0;
    on0.receive(arpFrame(ARP_REQUEST, clientMac, '198.51.100.99', VIP4));
    expect(on0.sent).toHaveLength(0);
  });

  it('NDP: a neighbour solicitation on another interface is not answered', async () => {
    const { net, announcer: a } = start({}, [link(), eth1]);
    await a.announce(VIP6, ['eth1']);
    const probe = (mac: Buffer) =>
      ndFrame({ type: 'solicitation', target: v6(VIP6) }, '2001:db8:5::99', VIP6, clientMac, mac);
    const [on0, on1] = [net.socket(2, ETHERTYPE_IPV6), net.socket(3, ETHERTYPE_IPV6)];
    on0.sent.length = 0;
    on1.sent.length = 0;
    on0.receive(probe(ourMac));
    on1.receive(probe(eth1.mac));
    expect(on0.sent).toHaveLength(0);
    expect(on1.sent).toHaveLength(1);
  });
});
