import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp, type ArpPacket } from '../src/arp.js';
import { ETHERTYPE_ARP, decodeEthernet, encodeEthernet } from '../src/ethernet.js';
import { kernelArpReply, kernelArpRequest, macA, macB } from './frames.js';

const ip = (text: string): Buffer => Buffer.from(text.split('.').map(Number));

describe('Ethernet', () => {
  it('decodes the header of a kernel frame and re-encodes it byte for byte', () => {
    const frame = decodeEthernet(kernelArpRequest)!;
    expect(frame.destination.toString('hex')).toBe('ffffffffffff');
    expect(frame.source.equals(macA)).toBe(true);
    expect(frame.ethertype).toBe(ETHERTYPE_ARP);
    expect(frame.payload.length).toBe(28);
    expect(encodeEthernet(frame).equals(kernelArpRequest)).toBe(true);
  });

  it('returns undefined for frames shorter than a header', () => {
    expect(decodeEthernet(Buffer.alloc(13))).toBeUndefined();
    expect(decodeEthernet(Buffer.alloc(14))?.payload.length).toBe(0);
  });
});

describe('ARP (RFC 826)', () => {
  it('decodes the kernel request and reply', () => {
    const request = decodeArp(decodeEthernet(kernelArpRequest)!.payload)!;
    expect(request).toEqual({
      operation: ARP_REQUEST,
      senderMac: macA,
      senderIp: ip('203.0.113.10'),
      targetMac: Buffer.alloc(6),
      targetIp: ip('203.0.113.11'),
    });
    const reply = decodeArp(decodeEthernet(kernelArpReply)!.payload)!;
    expect(reply.operation).toBe(ARP_REPLY);
    expect(reply.senderMac.equals(macB)).toBe(true);
    expect(reply.targetMac.equals(macA)).toBe(true);
  });

  it('encodes what the kernel sends', () => {
    const reply: ArpPacket = {
      operation: ARP_REPLY,
      senderMac: macB,
      senderIp: ip('203.0.113.11'),
      targetMac: macA,
      targetIp: ip('203.0.113.10'),
    };
    const frame = encodeEthernet({
      destination: macA,
      source: macB,
      ethertype: ETHERTYPE_ARP,
      payload: encodeArp(reply),
    });
    expect(frame.equals(kernelArpReply)).toBe(true);
  });

  it('ignores Ethernet padding after the 28 bytes', () => {
    const padded = Buffer.concat([decodeEthernet(kernelArpRequest)!.payload, Buffer.alloc(18)]);
    expect(decodeArp(padded)?.targetIp.equals(ip('203.0.113.11'))).toBe(true);
  });

  it.each([
    ['hardware type (IEEE 802 = 6)', 1, 6],
    ['protocol type', 2, 0x86],
    ['hardware length', 4, 8],
    ['protocol length', 5, 16],
  ])('rejects another %s', (_name, offset, value) => {
    const payload = Buffer.from(decodeEthernet(kernelArpRequest)!.payload);
    payload[offset] = value;
    expect(decodeArp(payload)).toBeUndefined();
  });

  it('rejects truncated packets', () => {
    const payload = decodeEthernet(kernelArpRequest)!.payload;
    for (let n = 0; n < 28; n++) expect(decodeArp(payload.subarray(0, n))).toBeUndefined();
  });

  it('round-trips any packet', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        bytes(6),
        bytes(4),
        bytes(6),
        bytes(4),
        (op, sm, si, tm, ti) => {
          const packet = { operation: op, senderMac: sm, senderIp: si, targetMac: tm, targetIp: ti };
          expect(decodeArp(encodeArp(packet))).toEqual(packet);
        },
      ),
    );
  });
});
