/**
 * The forwarding headers for the pod by who the peer is (forwarded.ts): table tests of the pure
 * functions, then the same through upstreamHeaders (what both data planes call).
 */
import { describe, expect, it } from 'vitest';
import {
  forwardedElement,
  fieldValue,
  forwardingHeaders,
  parseCidr,
  realClient,
  TrustedProxies,
  upstreamHeaders,
  type ArrivedForwarding,
} from '@portico/ingress';

const trusted = new TrustedProxies(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
const nobody = new TrustedProxies([]);
const hop = (address: string) => ({ address, proto: 'https' as const, port: 443, host: 'shop.example.com' });

/** The flat list as a record (each name appears once). */
const asRecord = (flat: string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    expect(out[flat[i]!]).toBeUndefined();
    out[flat[i]!] = flat[i + 1]!;
  }
  return out;
};

const spoofed: ArrivedForwarding = {
  xForwardedFor: '6.6.6.6',
  xForwardedProto: 'http',
  xForwardedHost: 'evil.example',
  xForwardedPort: '8080',
  forwarded: 'for=6.6.6.6',
};

describe('TrustedProxies', () => {
  it.each([
    ['10.200.3.4', true],
    ['11.0.0.1', false],
    ['192.0.2.1', true],
    ['192.0.2.2', false],
    ['::ffff:10.1.1.1', true],
    ['2001:db8:1::5', true],
    ['2001:db9::5', false],
    ['not-an-ip', false],
    ['', false],
  ])('%s trusted: %s', (address, expected) => expect(trusted.trusts(address)).toBe(expected));

  it('answers the same after more addresses than it remembers', () => {
    const list = new TrustedProxies(['10.0.0.0/8']);
    for (let i = 0; i < 10_000; i++)
      expect(list.trusts(`${i % 2 ? 10 : 11}.0.${(i >> 8) & 255}.${i & 255}`)).toBe(i % 2 === 1);
    expect(list.trusts('10.9.9.9')).toBe(true);
    expect(list.trusts('11.9.9.9')).toBe(false);
  });

  it('trusts nobody by default', () => {
    expect(nobody.trusts('127.0.0.1')).toBe(false);
    expect(nobody.empty).toBe(true);
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', 'example.com', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/-1', ''])(
    'refuses %j, naming it',
    (cidr) => expect(() => parseCidr(cidr)).toThrow(`trusted proxies: ${JSON.stringify(cidr)} is not`),
  );

  it('reads single addresses as /32 and /128', () => {
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr(' ::1 ')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
  });
});

describe('forwardingHeaders', () => {
  it('an untrusted peer: everything it claims is replaced', () => {
    expect(asRecord(forwardingHeaders(hop('203.0.113.9'), spoofed, trusted))).toEqual({
      'x-forwarded-for': '203.0.113.9',
      'x-real-ip': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example.com',
      'x-forwarded-port': '443',
      forwarded: 'for=203.0.113.9;host=shop.example.com;proto=https',
    });
  });

  it('a trusted peer: the chain is appended to, the rest kept, X-Real-IP is the client', () => {
    expect(asRecord(forwardingHeaders(hop('10.0.0.5'), spoofed, trusted))).toEqual({
      'x-forwarded-for': '6.6.6.6, 10.0.0.5',
      'x-real-ip': '6.6.6.6',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '8080',
      forwarded: 'for=6.6.6.6, for=10.0.0.5;host=shop.example.com;proto=https',
    });
  });

  it('a trusted peer that sent nothing: our own values', () => {
    expect(asRecord(forwardingHeaders(hop('10.0.0.5'), {}, trusted))).toEqual({
      'x-forwarded-for': '10.0.0.5',
      'x-real-ip': '10.0.0.5',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example.com',
      'x-forwarded-port': '443',
      forwarded: 'for=10.0.0.5;host=shop.example.com;proto=https',
    });
  });

  it('a dual-stack socket address is written as the IPv4 address it is', () => {
    expect(asRecord(forwardingHeaders(hop('::ffff:203.0.113.9'), {}, nobody))['x-forwarded-for']).toBe(
      '203.0.113.9',
    );
  });
});

describe('realClient', () => {
  it.each([
    ['untrusted peer: the peer, whatever the chain', '203.0.113.1', '1.1.1.1, 10.0.0.1', '203.0.113.1'],
    ['trusted peer, no chain', '10.0.0.1', undefined, '10.0.0.1'],
    ['one untrusted hop before the peer', '10.0.0.1', '1.1.1.1', '1.1.1.1'],
    ['trusted hops skipped from the right', '10.0.0.1', '1.1.1.1, 2.2.2.2, 10.9.9.9, 192.0.2.1', '2.2.2.2'],
    ['every hop trusted: the leftmost', '10.0.0.1', '10.1.1.1, 10.2.2.2', '10.1.1.1'],
    ['garbage stops the walk at the last vouched address', '10.0.0.1', '1.1.1.1, junk, 10.2.2.2', '10.2.2.2'],
    ['IPv6 hops', '2001:db8::1', '2001:db9::7, 2001:db8::2', '2001:db9::7'],
    ['spaces and empty entries', '10.0.0.1', ' 1.1.1.1 ,', '10.0.0.1'],
  ])('%s', (_name, peer, chain, expected) => expect(realClient(peer, chain, trusted)).toBe(expected));
});

describe('forwardedElement (RFC 7239)', () => {
  it.each([
    ['192.0.2.60', 'example.com', 'http', 'for=192.0.2.60;host=example.com;proto=http'],
    ['2001:db8::60', 'example.com', 'https', 'for="[2001:db8::60]";host=example.com;proto=https'],
    ['192.0.2.60', 'example.com:8080', 'http', 'for=192.0.2.60;host="example.com:8080";proto=http'],
    ['192.0.2.60', '[::1]:80', 'http', 'for=192.0.2.60;host="[::1]:80";proto=http'],
    ['192.0.2.60', 'a,b;c="d"', 'http', 'for=192.0.2.60;host="a,b;c=\\"d\\"";proto=http'],
  ])('%s %s %s', (address, host, proto, expected) =>
    expect(forwardedElement(address, host, proto)).toBe(expected),
  );
});

describe('upstreamHeaders with a trust list', () => {
  const raw = [
    'Host',
    'shop.example.com',
    'X-Forwarded-For',
    '1.1.1.1',
    'x-forwarded-for',
    '2.2.2.2',
    'X-Real-IP',
    '9.9.9.9',
    'Forwarded',
    'for=1.1.1.1',
    'X-Forwarded-Proto',
    'http',
    'Accept',
    '*/*',
  ];
  it('untrusted: no claimed value survives, other fields pass', () => {
    const out = asRecord(upstreamHeaders(raw, {}, hop('203.0.113.9'), false, false, trusted));
    expect(out).toMatchObject({
      Host: 'shop.example.com',
      Accept: '*/*',
      'x-forwarded-for': '203.0.113.9',
      'x-real-ip': '203.0.113.9',
      'x-forwarded-proto': 'https',
      forwarded: 'for=203.0.113.9;host=shop.example.com;proto=https',
    });
    expect(Object.keys(out).filter((k) => /forward|real/i.test(k))).toHaveLength(6);
  });

  it("without a list (the default), the same, and no Forwarded at all (the client's removed)", () => {
    const out = asRecord(upstreamHeaders(raw, {}, hop('10.0.0.1')));
    expect(out['x-forwarded-for']).toBe('10.0.0.1');
    expect(out['x-real-ip']).toBe('10.0.0.1');
    expect(out['x-forwarded-proto']).toBe('https');
    expect(Object.keys(out).filter((k) => /^forwarded$/i.test(k))).toEqual([]);
  });

  it('trusted: repeated X-Forwarded-For fields joined, then the peer appended', () => {
    const out = asRecord(upstreamHeaders(raw, {}, hop('10.0.0.1'), false, false, trusted));
    expect(out).toMatchObject({
      'x-forwarded-for': '1.1.1.1, 2.2.2.2, 10.0.0.1',
      'x-real-ip': '2.2.2.2',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'shop.example.com',
      forwarded: 'for=1.1.1.1, for=10.0.0.1;host=shop.example.com;proto=https',
    });
  });
});

describe('fieldValue', () => {
  it('joins every field of that name, whatever its case', () => {
    const fields = [
      'Host',
      'a',
      'X-Forwarded-For',
      '1.1.1.1',
      'x-forwarded-forx',
      'no',
      'x-forwarded-for',
      '2.2.2.2',
    ];
    expect(fieldValue(fields, 'x-forwarded-for')).toBe('1.1.1.1, 2.2.2.2');
    expect(fieldValue(fields, 'forwarded')).toBeUndefined();
  });
});
