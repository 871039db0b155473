import { describe, expect, it } from 'vitest';
import {
  decodeNotificationBody,
  describeNotification,
  encodeKeepalive,
  encodeNotification,
  encodeRouteRefresh,
  shutdownCommunication,
} from '../src/message.js';
import { packWithdrawal } from '../src/sender.js';
import { parsePrefix } from '../src/prefix.js';
import { hex, MARKER, one, receive } from './helpers.js';

describe('receiver (message framing, RFC 4271 §4.1 and §6.1)', () => {
  it('decodes a KEEPALIVE', () => {
    expect(Buffer.from(encodeKeepalive()).toString('hex')).toBe(`${MARKER}001304`);
    expect(one(encodeKeepalive())).toEqual({ type: 'keepalive' });
  });

  it('decodes a NOTIFICATION with data', () => {
    const wire = encodeNotification(6, 2, shutdownCommunication('maintenance'));
    const r = one(wire);
    expect(r.type).toBe('notification');
    if (r.type === 'notification') {
      expect([r.notification.code, r.notification.subcode]).toEqual([6, 2]);
      expect(Buffer.from(r.notification.data.subarray(1)).toString()).toBe('maintenance');
    }
    expect(decodeNotificationBody(Uint8Array.of(4, 0))).toEqual({
      code: 4,
      subcode: 0,
      data: new Uint8Array(0),
    });
    expect(describeNotification(6, 2)).toBe('Cease/Administrative Shutdown (6/2)');
  });

  it('decodes a ROUTE-REFRESH (RFC 2918)', () => {
    expect(one(encodeRouteRefresh(2, 1))).toEqual({ type: 'route-refresh', afi: 2, safi: 1, subtype: 0 });
  });

  it('reassembles messages split at every byte and several per chunk', () => {
    const wire = Buffer.concat([encodeKeepalive(), encodeRouteRefresh(1, 1), encodeKeepalive()]);
    const bytes = [...wire].map((b) => Uint8Array.of(b));
    expect(receive(bytes).map((m) => m.type)).toEqual(['keepalive', 'route-refresh', 'keepalive']);
    expect(receive(wire).map((m) => m.type)).toEqual(['keepalive', 'route-refresh', 'keepalive']);
  });

  it.each([
    ['a bad marker', `${'fe' + MARKER.slice(2)}001304`, [1, 1]],
    ['a length below 19', `${MARKER}001204`, [1, 2]],
    ['a KEEPALIVE longer than 19', `${MARKER}00140400`, [1, 2]],
    ['an UPDATE above 4096', `${MARKER}100102`, [1, 2]],
    ['an unknown type', `${MARKER}001309`, [1, 3]],
    ['a NOTIFICATION without code', `${MARKER}001403 06`, [1, 2]],
    ['a ROUTE-REFRESH of 24 octets', `${MARKER}0018050001000100`, [7, 1]],
  ])('answers %s with the right NOTIFICATION', (_n, h, [code, subcode]) => {
    const out = receive(hex(h));
    const last = out[out.length - 1]!;
    expect(last.type).toBe('error');
    if (last.type === 'error') expect([last.error.code, last.error.subcode]).toEqual([code, subcode]);
  });

  it('carries the bad length and type in the NOTIFICATION data', () => {
    const r = one(hex(`${MARKER}001204`));
    expect(r.type === 'error' && [...r.error.data]).toEqual([0, 0x12]);
    const t = one(hex(`${MARKER}001309`));
    expect(t.type === 'error' && [...t.error.data]).toEqual([9]);
  });

  it('accepts UPDATEs up to 65535 octets once extended messages are negotiated (RFC 8654)', () => {
    const prefixes = Array.from({ length: 1500 }, (_, i) => parsePrefix(`198.18.${i >> 8}.${i & 0xff}/32`));
    const [msg] = packWithdrawal(1, prefixes, { maxLength: 65535, fourOctetAs: true });
    expect(msg!.length).toBe(23 + 1500 * 5);
    expect(receive(msg)[0]?.type).toBe('error');
    const r = receive(msg, { fourOctetAs: true, external: true }, 65535);
    expect(r[0]?.type).toBe('update');
  });

  it('stops after the first error', () => {
    const out = receive([hex(`${MARKER}001309`), encodeKeepalive()]);
    expect(out.map((m) => m.type)).toEqual(['error']);
  });
});
