/**
 * Malformed frames never crash anything: random bytes and mutated real frames go through every
 * decoder and through live responders (which must neither throw nor answer garbage).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Announcer } from '../src/announcer.js';
import { decodeArp } from '../src/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet } from '../src/ethernet.js';
import { decodeIpv6 } from '../src/ipv6.js';
import { decodeNeighborMessage } from '../src/ndp.js';
import { fakeNetwork, link } from '../src/testing.js';
import {
  kernelArpReply,
  kernelArpRequest,
  kernelNeighborAdvertisement,
  kernelNeighborSolicitation,
} from './frames.js';

const realFrames = [
  kernelArpRequest,
  kernelArpReply,
  kernelNeighborSolicitation,
  kernelNeighborAdvertisement,
];

/** Random bytes, or a real frame with some bytes changed, truncated or extended. */
const frames = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc
    .tuple(
      fc.constantFrom(...realFrames),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.integer({ min: -20, max: 20 }),
    )
    .map(([frame, edits, resize]) => {
      const copy = Buffer.from(frame);
      for (const [at, value] of edits) copy[at % copy.length] = value;
      return resize < 0
        ? copy.subarray(0, Math.max(0, copy.length + resize))
        : Buffer.concat([copy, Buffer.alloc(resize)]);
    }),
);

function decodeAll(frame: Buffer): unknown {
  const eth = decodeEthernet(frame);
  if (!eth) return undefined;
  const arp = decodeArp(eth.payload);
  const ip = decodeIpv6(eth.payload);
  return [arp, ip && decodeNeighborMessage(ip)];
}

describe('fuzz', () => {
  it('decoders return a value or undefined, never throw', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        expect(() => decodeAll(frame)).not.toThrow();
      }),
      { numRuns: 5000 },
    );
  });

  it('decoded NDP messages always satisfy the §7.1 invariants', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        const ip = decodeEthernet(frame) && decodeIpv6(decodeEthernet(frame)!.payload);
        const message = ip && decodeNeighborMessage(ip);
        if (!ip || !message) return;
        expect(ip.hopLimit).toBe(255);
        expect(message.target[0]).not.toBe(0xff);
      }),
      { numRuns: 5000 },
    );
  });

  const net = fakeNetwork();
  const announcer = new Announcer({
    probe: false,
    burst: { count: 1, intervalMs: 1000 },
    refreshIntervalMs: 0,
    rescanIntervalMs: 60_000,
    watchLinks: false,
    openSocket: net.openSocket,
    openGroups: net.openGroups,
    readLinks: () => [link({ mac: Buffer.from('02000000000b', 'hex') })],
  });
  afterAll(() => announcer.close());

  it('live responders survive any frame and only ever send well-formed answers', async () => {
    // The captured frames ask about .11 / ::b; announce those so mutations hit the answering paths.
    await announcer.announce('203.0.113.11');
    await announcer.announce('2001:db8:1::b');
    const arp = net.socket(2, ETHERTYPE_ARP);
    const ndp = net.socket(2, ETHERTYPE_IPV6);
    arp.sent.length = 0;
    ndp.sent.length = 0;
    fc.assert(
      fc.property(frames, (frame) => {
        expect(() => arp.receive(frame)).not.toThrow();
        expect(() => ndp.receive(frame)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
    for (const sent of arp.sent) expect(decodeArp(decodeEthernet(sent)!.payload)).toBeDefined();
    for (const sent of ndp.sent)
      expect(decodeNeighborMessage(decodeIpv6(decodeEthernet(sent)!.payload)!)).toBeDefined();
    // The unmodified captures are among the inputs' ancestors: make sure the paths were exercised.
    arp.receive(kernelArpRequest);
    ndp.receive(kernelNeighborSolicitation);
    expect(arp.sent.length).toBeGreaterThan(0);
    expect(ndp.sent.length).toBeGreaterThan(0);
  });
});
