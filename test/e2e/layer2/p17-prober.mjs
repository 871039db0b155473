// The judge of the layer-2 partition tests (partition.test.ts), run in the client namespace: every
// INTERVAL ms it broadcasts an ARP request for VIP4 and sends a Neighbor Solicitation for VIP6
// (to its solicited-node group), and it records every ARP/NDP packet that claims either address
// (replies, gratuitous ARPs, advertisements) with the sender's MAC. One JSON line per event on
// stdout, with a wall-clock time `t` in ms; it stops on SIGTERM or when stdin ends.
//   node p17-prober.mjs IFNAME CLIENT_IP4 CLIENT_IP6 VIP4 VIP6 INTERVAL_MS
// Uses the built libraries (packages/native/dist, packages/layer2/dist).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { PacketSocket } from '@portico/native';
import {
  decodeArp,
  decodeEthernet,
  decodeIpv6,
  decodeNeighborMessage,
  encodeArp,
  encodeEthernet,
  encodeIpv6,
  encodeNeighborMessage,
  formatMac,
  ipv6MulticastMac,
  solicitedNodeGroup,
} from '@portico/layer2';
import { addressToBytes, parseAddress } from '@portico/net';

const [ifname, client4, client6, vip4, vip6, intervalText] = process.argv.slice(2);
const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const mac = Buffer.from(
  readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim().replaceAll(':', ''),
  'hex',
);
const v4 = Buffer.from(addressToBytes(parseAddress(vip4)));
const v6 = Buffer.from(addressToBytes(parseAddress(vip6)));
const me4 = Buffer.from(addressToBytes(parseAddress(client4)));
const me6 = Buffer.from(addressToBytes(parseAddress(client6)));
const now = () => performance.timeOrigin + performance.now();
const emit = (e) => process.stdout.write(`${JSON.stringify({ ...e, t: now() })}\n`);

const arp = new PacketSocket({
  ifindex,
  ethertype: 0x0806,
  onFrame: (frame) => {
    const eth = decodeEthernet(frame);
    const p = eth && decodeArp(eth.payload);
    if (!p || p.senderMac.equals(mac) || !p.senderIp.equals(v4)) return;
    emit({ kind: 'ans4', mac: formatMac(p.senderMac), gratuitous: p.targetIp.equals(v4) });
  },
});
const group = solicitedNodeGroup(v6);
const groupMac = ipv6MulticastMac(group);
const nd = new PacketSocket({
  ifindex,
  ethertype: 0x86dd,
  onFrame: (frame) => {
    const eth = decodeEthernet(frame);
    const ip = eth && decodeIpv6(eth.payload);
    const m = ip && decodeNeighborMessage(ip);
    if (!m || m.type !== 'advertisement' || !m.target.equals(v6) || eth.source.equals(mac)) return;
    emit({ kind: 'ans6', mac: formatMac(m.targetMac ?? eth.source), gratuitous: !m.solicited });
  },
});

let n = 0;
const probe = () => {
  n++;
  const request = encodeArp({
    operation: 1,
    senderMac: mac,
    senderIp: me4,
    targetMac: Buffer.alloc(6),
    targetIp: v4,
  });
  arp.send(
    encodeEthernet({ destination: Buffer.alloc(6, 0xff), source: mac, ethertype: 0x0806, payload: request }),
  );
  emit({ kind: 'req4', n });
  const icmp = encodeNeighborMessage({ type: 'solicitation', target: v6, sourceMac: mac }, me6, group);
  const packet = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 58,
    hopLimit: 255,
    source: me6,
    destination: group,
    payload: icmp,
  });
  nd.send(encodeEthernet({ destination: groupMac, source: mac, ethertype: 0x86dd, payload: packet }));
  emit({ kind: 'req6', n });
};
const timer = setInterval(probe, Number(intervalText));
emit({ kind: 'ready' });

const stop = () => {
  clearInterval(timer);
  arp.close();
  nd.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
