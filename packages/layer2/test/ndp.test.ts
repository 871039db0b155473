import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToBytes, parseAddress } from '@portico/net';
import { icmpv6Checksum, verifyIcmpv6Checksum } from '../src/checksum.js';
import { ETHERTYPE_IPV6, decodeEthernet, encodeEthernet } from '../src/ethernet.js';
import { decodeIpv6, encodeIpv6, type Ipv6Packet } from '../src/ipv6.js';
import { decodeNeighborMessage, encodeNeighborMessage, type NeighborMessage } from '../src/ndp.js';
import { kernelNeighborAdvertisement, kernelNeighborSolicitation, macA, macB } from './frames.js';
import { ndPacket } from './nd-packet.js';

const v6 = (text: string): Buffer => Buffer.from(addressToBytes(parseAddress(text)!));
const ipOf = (frame: Buffer): Ipv6Packet => decodeIpv6(decodeEthernet(frame)!.payload)!;

describe('IPv6 header (RFC 8200 §3)', () => {
  it('decodes the kernel NS and re-encodes it byte for byte', () => {
    const ip = ipOf(kernelNeighborSolicitation);
    expect(ip.nextHeader).toBe(58);
    expect(ip.hopLimit).toBe(255);
    expect(Buffer.from(addressToBytes(parseAddress('2001:db8:1::a')!)).equals(ip.source)).toBe(true);
    expect(Buffer.from(addressToBytes(parseAddress('ff02::1:ff00:b')!)).equals(ip.destination)).toBe(true);
    expect(ip.payload.length).toBe(32);
    const frame = decodeEthernet(kernelNeighborSolicitation)!;
    expect(encodeEthernet({ ...frame, payload: encodeIpv6(ip) }).equals(kernelNeighborSolicitation)).toBe(
      true,
    );
  });

  it('rejects another version, short headers and payload lengths beyond the buffer', () => {
    const packet = Buffer.from(decodeEthernet(kernelNeighborSolicitation)!.payload);
    expect(decodeIpv6(packet.subarray(0, 39))).toBeUndefined();
    expect(decodeIpv6(packet.subarray(0, packet.length - 1))).toBeUndefined();
    const v4 = Buffer.from(packet);
    v4[0] = 0x45;
    expect(decodeIpv6(v4)).toBeUndefined();
    // Ethernet padding after the packet is fine.
    expect(decodeIpv6(Buffer.concat([packet, Buffer.alloc(8)]))?.payload.length).toBe(32);
  });
});

describe('ICMPv6 checksum (RFC 4443 §2.3)', () => {
  it('verifies the kernel checksums and computes the same values', () => {
    for (const frame of [kernelNeighborSolicitation, kernelNeighborAdvertisement]) {
      const ip = ipOf(frame);
      expect(verifyIcmpv6Checksum(ip.source, ip.destination, ip.payload)).toBe(true);
      const zeroed = Buffer.from(ip.payload);
      zeroed.writeUInt16BE(0, 2);
      expect(icmpv6Checksum(ip.source, ip.destination, zeroed)).toBe(ip.payload.readUInt16BE(2));
    }
  });

  it('detects any single corrupted byte', () => {
    const ip = ipOf(kernelNeighborAdvertisement);
    fc.assert(
      fc.property(fc.nat(ip.payload.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const corrupted = Buffer.from(ip.payload);
        corrupted[at]! ^= flip;
        expect(verifyIcmpv6Checksum(ip.source, ip.destination, corrupted)).toBe(false);
      }),
    );
  });

  it('handles odd lengths (RFC 1071 pads with a zero byte)', () => {
    const src = v6('2001:db8::1');
    const dst = v6('2001:db8::2');
    const message = Buffer.from([128, 0, 0, 0, 0, 1, 0, 1, 0xab]);
    message.writeUInt16BE(icmpv6Checksum(src, dst, message), 2);
    expect(verifyIcmpv6Checksum(src, dst, message)).toBe(true);
  });
});

describe('Neighbor Solicitation / Advertisement (RFC 4861 §4.3, §4.4)', () => {
  it('decodes the kernel NS with its source link-layer option', () => {
    expect(decodeNeighborMessage(ipOf(kernelNeighborSolicitation))).toEqual({
      type: 'solicitation',
      target: v6('2001:db8:1::b'),
      sourceMac: macA,
    });
  });

  it('decodes the kernel NA: solicited and override, target link-layer option', () => {
    expect(decodeNeighborMessage(ipOf(kernelNeighborAdvertisement))).toEqual({
      type: 'advertisement',
      target: v6('2001:db8:1::b'),
      router: false,
      solicited: true,
      override: true,
      targetMac: macB,
    });
  });

  it('encodes the NA exactly as the kernel does', () => {
    const ip = ipOf(kernelNeighborAdvertisement);
    const na: NeighborMessage = {
      type: 'advertisement',
      target: v6('2001:db8:1::b'),
      router: false,
      solicited: true,
      override: true,
      targetMac: macB,
    };
    expect(encodeNeighborMessage(na, ip.source, ip.destination).equals(ip.payload)).toBe(true);
  });

  it('accepts a DAD probe (from ::, to a solicited-node group, no options)', () => {
    const probe = ndPacket({ type: 'solicitation', target: v6('2001:db8:1::60') }, '::', 'ff02::1:ff00:60');
    expect(decodeNeighborMessage(probe)).toEqual({ type: 'solicitation', target: v6('2001:db8:1::60') });
  });

  it('accepts a unicast reachability probe without a source link-layer option', () => {
    const nud = ndPacket(
      { type: 'solicitation', target: v6('2001:db8:1::60') },
      '2001:db8:1::64',
      '2001:db8:1::60',
    );
    expect(decodeNeighborMessage(nud)).toEqual({ type: 'solicitation', target: v6('2001:db8:1::60') });
  });

  const target = v6('2001:db8:1::60');
  const invalid: [string, () => Ipv6Packet][] = [
    [
      'hop limit 254 (routed: §7.1.1)',
      () => ndPacket({ type: 'solicitation', target }, '2001:db8::1', 'ff02::1:ff00:60', 254),
    ],
    [
      'a bad checksum',
      () => {
        const p = ndPacket({ type: 'solicitation', target }, '2001:db8::1', 'ff02::1:ff00:60');
        p.payload[2]! ^= 1;
        return p;
      },
    ],
    [
      'code 1',
      () => {
        const p = ndPacket({ type: 'solicitation', target }, '2001:db8::1', 'ff02::1:ff00:60');
        p.payload[1] = 1;
        p.payload.writeUInt16BE(0, 2);
        p.payload.writeUInt16BE(icmpv6Checksum(p.source, p.destination, p.payload), 2);
        return p;
      },
    ],
    [
      'a multicast target',
      () => ndPacket({ type: 'solicitation', target: v6('ff02::1') }, '2001:db8::1', 'ff02::1'),
    ],
    [
      'a DAD probe to a non solicited-node address',
      () => ndPacket({ type: 'solicitation', target }, '::', 'ff02::1'),
    ],
    [
      'a DAD probe with a source link-layer option',
      () => ndPacket({ type: 'solicitation', target, sourceMac: macA }, '::', 'ff02::1:ff00:60'),
    ],
    [
      'a solicited NA sent to a multicast address',
      () =>
        ndPacket(
          { type: 'advertisement', target, router: false, solicited: true, override: true },
          '2001:db8::1',
          'ff02::1',
        ),
    ],
    [
      'a zero-length option',
      () => {
        const src = v6('2001:db8::1');
        const dst = v6('ff02::1:ff00:60');
        const message = Buffer.concat([
          encodeNeighborMessage({ type: 'solicitation', target }, src, dst),
          Buffer.alloc(8),
        ]);
        message.writeUInt16BE(0, 2);
        message.writeUInt16BE(icmpv6Checksum(src, dst, message), 2);
        return {
          trafficClass: 0,
          flowLabel: 0,
          nextHeader: 58,
          hopLimit: 255,
          source: src,
          destination: dst,
          payload: message,
        };
      },
    ],
    [
      'another next header',
      () => ({
        ...ndPacket({ type: 'solicitation', target }, '2001:db8::1', 'ff02::1:ff00:60'),
        nextHeader: 17,
      }),
    ],
  ];
  it.each(invalid)('discards %s', (_name, make) => {
    expect(decodeNeighborMessage(make())).toBeUndefined();
  });

  it('round-trips any NS or NA', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
    const unicastTarget = bytes(16).filter((b) => b[0] !== 0xff);
    const message: fc.Arbitrary<NeighborMessage> = fc.oneof(
      fc.record({ type: fc.constant('solicitation' as const), target: unicastTarget, sourceMac: bytes(6) }),
      fc.record({
        type: fc.constant('advertisement' as const),
        target: unicastTarget,
        router: fc.boolean(),
        solicited: fc.boolean(),
        override: fc.boolean(),
        targetMac: bytes(6),
      }),
    );
    fc.assert(
      fc.property(message, (m) => {
        const source = v6('fe80::1');
        const destination = v6('2001:db8::2');
        const payload = encodeNeighborMessage(m, source, destination);
        const packet = {
          trafficClass: 0,
          flowLabel: 0,
          nextHeader: 58,
          hopLimit: 255,
          source,
          destination,
          payload,
        };
        expect(decodeNeighborMessage(decodeIpv6(encodeIpv6(packet))!)).toEqual(m);
      }),
    );
  });

  it('keeps the frame type for Ethernet', () => {
    expect(decodeEthernet(kernelNeighborAdvertisement)?.ethertype).toBe(ETHERTYPE_IPV6);
  });
});
