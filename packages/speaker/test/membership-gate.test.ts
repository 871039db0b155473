/**
 * The last line of defence (issue 17): the real ARP/NDP announcer, wired through LazyLayer2 the
 * way the speaker wires it, asks the lease right before every packet. With the gate closed it
 * answers nothing and sends no gratuitous packet, though the IP is still announced; open, it
 * answers at once (no re-announcement needed). Fake packet sockets from @portico/layer2's tests.
 */
import { Announcer, encodeArp, encodeEthernet, decodeArp, decodeEthernet } from '@portico/layer2';
import { fakeNetwork, link } from '@portico/layer2/testing';
import { addressToBytes, parseAddress } from '@portico/net';
import { describe, expect, it } from 'vitest';
import { LazyLayer2 } from '../src/lazy-layer2.js';

const VIP = '198.51.100.10';
const clientMac = Buffer.from('02000000c11e', 'hex');

function request(): Buffer {
  const payload = encodeArp({
    operation: 1,
    senderMac: clientMac,
    senderIp: Buffer.from(addressToBytes(parseAddress('198.51.100.1')!)),
    targetMac: Buffer.alloc(6),
    targetIp: Buffer.from(addressToBytes(parseAddress(VIP)!)),
  });
  return encodeEthernet({
    destination: Buffer.alloc(6, 0xff),
    source: clientMac,
    ethertype: 0x0806,
    payload,
  });
}

describe('the announcer checks the lease before every packet', () => {
  it('a closed gate sends nothing for the IP; an open one answers again without a new announce', async () => {
    const net = fakeNetwork();
    let open = false;
    const layer2 = new LazyLayer2(
      () =>
        new Announcer({
          probe: false,
          burst: { count: 1, intervalMs: 1100 },
          refreshIntervalMs: 0,
          rescanIntervalMs: 60_000,
          openSocket: net.openSocket,
          openGroups: net.openGroups,
          readLinks: () => [link()],
          watchLinks: false,
        }),
    );
    layer2.setGate((ip) => ip === VIP && open);
    try {
      await layer2.announce(VIP); // gate closed: not even the gratuitous ARP goes out
      const socket = net.socket(2, 0x0806);
      expect(socket.sent).toEqual([]);
      socket.receive(request());
      expect(socket.sent).toEqual([]);
      open = true;
      socket.receive(request());
      expect(socket.sent).toHaveLength(1);
      const reply = decodeArp(decodeEthernet(socket.sent[0]!)!.payload)!;
      expect(reply.operation).toBe(2);
      expect(reply.targetMac).toEqual(clientMac);
    } finally {
      layer2.close();
    }
  });
});
