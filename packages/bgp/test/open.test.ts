import { describe, expect, it } from 'vitest';
import { emptyCapabilities, type Capabilities } from '../src/capabilities.js';
import { encodeMessage } from '../src/message.js';
import { decodeOpenBody, encodeOpenBody, peerAs } from '../src/open.js';
import { hex, MARKER, one } from './helpers.js';

const full: Capabilities = {
  multiprotocol: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  routeRefresh: true,
  fourOctetAs: 4200000001,
  extendedMessage: true,
  extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }],
  gracefulRestart: {
    restarting: true,
    notification: false,
    restartTime: 120,
    families: [{ afi: 1, safi: 1, forwarding: true }],
  },
  unknown: [{ code: 70, value: Uint8Array.of(1, 2) }],
};

describe('OPEN', () => {
  it('round-trips every capability', () => {
    const body = encodeOpenBody(4200000001, 90, '192.0.2.2', full);
    const open = decodeOpenBody(body);
    expect(open.myAs).toBe(23456); // RFC 6793 AS_TRANS
    expect(peerAs(open)).toBe(4200000001);
    expect(open.holdTime).toBe(90);
    expect(open.bgpId).toBe('192.0.2.2');
    expect(open.capabilities).toEqual(full);
  });

  it('matches a hand-built OPEN byte for byte', () => {
    const caps = {
      ...emptyCapabilities(),
      multiprotocol: [{ afi: 1 as const, safi: 1 }],
      fourOctetAs: 65001,
    };
    const wire = encodeMessage(1, encodeOpenBody(65001, 180, '192.0.2.2', caps));
    expect(Buffer.from(wire).toString('hex')).toBe(
      `${MARKER}002d01` +
        '04fde900b4c0000202' +
        '10' +
        '0206010400010001' +
        '02064104 0000fde9'.replace(' ', ''),
    );
  });

  it.each([
    ['version 3', '03 fde9 00b4 c0000202 00', [2, 1]],
    ['hold time 2', '04 fde9 0002 c0000202 00', [2, 6]],
    ['zero BGP identifier', '04 fde9 00b4 00000000 00', [2, 3]],
    ['optional parameter type 1', '04 fde9 00b4 c0000202 03 010100', [2, 4]],
    ['bad optional parameters length', '04 fde9 00b4 c0000202 05 0206', [2, 0]],
    ['capability overrunning its parameter', '04 fde9 00b4 c0000202 04 02024104', [2, 0]],
  ])('rejects %s with the right NOTIFICATION', (_n, body, [code, subcode]) => {
    const b = hex(body);
    const r = one(encodeMessage(1, b));
    expect(r.type).toBe('error');
    if (r.type === 'error') expect([r.error.code, r.error.subcode]).toEqual([code, subcode]);
  });

  it('puts the supported version in the Unsupported Version data', () => {
    const r = one(encodeMessage(1, hex('03 fde9 00b4 c0000202 00')));
    expect(r.type === 'error' && [...r.error.data]).toEqual([0, 4]);
  });
});
