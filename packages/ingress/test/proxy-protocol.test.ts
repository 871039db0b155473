/**
 * The PROXY protocol parser: the spec's examples and malformed headers, then properties over random
 * input: v1/v2 round trips, any split of the bytes gives the same answer, random bytes never throw
 * and never ask for more than the header's bound.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  encodeV1,
  encodeV2,
  parseProxyHeader,
  parseProxyProtocolPorts,
  V1_MAX_LENGTH,
  V2_SIGNATURE,
  type ProxyAddress,
  type ProxyParse,
} from '@portico/ingress';

const v4 = (address: string, port: number): ProxyAddress => ({ address, port, family: 'IPv4' });
const v6 = (address: string, port: number): ProxyAddress => ({ address, port, family: 'IPv6' });
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feeds `bytes` in the given pieces, as reads would deliver them; the first answer that is not `more`. */
function feed(bytes: Buffer, cuts: number[]): ProxyParse {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  for (const p of [...points, bytes.length]) {
    const r = parseProxyHeader(bytes.subarray(0, p));
    if (r.state !== 'more') return r;
  }
  return parseProxyHeader(bytes);
}

describe('PROXY protocol v1', () => {
  it('reads TCP4 and TCP6 headers and says how long they are', () => {
    const r = parseProxyHeader(ascii('PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n'));
    expect(r).toEqual({
      state: 'done',
      header: {
        kind: 'proxied',
        version: 1,
        source: v4('192.0.2.10', 56324),
        destination: v4('198.51.100.1', 443),
      },
      length: 46,
    });
    const r6 = parseProxyHeader(ascii('PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n'));
    expect(r6.state === 'done' && r6.header).toMatchObject({ source: v6('2001:db8::1', 1) });
  });

  it('takes UNKNOWN as a connection without client information', () => {
    expect(parseProxyHeader(ascii('PROXY UNKNOWN\r\n'))).toEqual({
      state: 'done',
      header: { kind: 'local', version: 1 },
      length: 15,
    });
    const long = ascii('PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n');
    expect(parseProxyHeader(long)).toMatchObject({ state: 'done', length: long.length });
  });

  it.each([
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\n', 'CRLF'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n', 'expected'],
    ['PROXY TCP4  192.0.2.10 198.51.100.1 56324 443\r\n', 'expected'],
    ['PROXY TCP5 192.0.2.10 198.51.100.1 56324 443\r\n', 'unknown protocol'],
    ['PROXY TCP4 2001:db8::1 198.51.100.1 56324 443\r\n', 'not IPv4'],
    ['PROXY TCP6 192.0.2.10 2001:db8::1 56324 443\r\n', 'not IPv6'],
    ['PROXY TCP4 192.0.2.010 198.51.100.1 56324 443\r\n', 'not IPv4'],
    ['PROXY TCP4 192.0.2.256 198.51.100.1 56324 443\r\n', 'not IPv4'],
    ['PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 443\r\n', 'not IPv6'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 65536 443\r\n', 'bad port'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 0443 443\r\n', 'bad port'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 -1 443\r\n', 'bad port'],
    ['proxy TCP4 192.0.2.10 198.51.100.1 1 443\r\n', 'no PROXY protocol header'],
    ['GET / HTTP/1.1\r\n\r\n', 'no PROXY protocol header'],
    ['PROXYTCP4\r\n', 'no PROXY protocol header'],
  ])('refuses %j', (header, reason) => {
    const r = parseProxyHeader(ascii(header));
    expect(r.state).toBe('refused');
    expect(r.state === 'refused' && r.reason).toContain(reason);
  });

  it('refuses a line over 107 bytes without waiting for its end', () => {
    const r = parseProxyHeader(
      ascii(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_LENGTH)}`).subarray(0, V1_MAX_LENGTH),
    );
    expect(r).toMatchObject({ state: 'refused', reason: 'v1 header longer than 107 bytes' });
    expect(parseProxyHeader(ascii(`PROXY UNKNOWN ${'x'.repeat(90)}`))).toEqual({ state: 'more' });
  });

  it('refuses a request that is not a header at its first byte', () => {
    expect(parseProxyHeader(ascii('G')).state).toBe('refused');
    // A TLS ClientHello starts with 0x16.
    expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01])).state).toBe('refused');
    expect(parseProxyHeader(ascii('PROX')).state).toBe('more');
    expect(parseProxyHeader(ascii('PROXI')).state).toBe('refused');
  });
});

describe('PROXY protocol v2', () => {
  it('reads IPv4 and IPv6 PROXY headers, skipping TLVs', () => {
    const tlvs = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00]); // ALPN "h2", NOOP
    const bytes = Buffer.concat([
      encodeV2({ source: v4('203.0.113.7', 4242), destination: v4('10.0.0.1', 80) }, tlvs),
      ascii('GET'),
    ]);
    expect(parseProxyHeader(bytes)).toEqual({
      state: 'done',
      header: {
        kind: 'proxied',
        version: 2,
        source: v4('203.0.113.7', 4242),
        destination: v4('10.0.0.1', 80),
      },
      length: 16 + 12 + tlvs.length,
    });
    const six = encodeV2({ source: v6('2001:db8::7', 1), destination: v6('::1', 443) });
    expect(parseProxyHeader(six)).toMatchObject({
      state: 'done',
      header: { source: v6('2001:db8::7', 1), destination: v6('::1', 443) },
      length: 16 + 36,
    });
  });

  it('takes LOCAL, UNSPEC, UNIX and DGRAM as connections without a TCP client', () => {
    expect(parseProxyHeader(encodeV2(undefined))).toEqual({
      state: 'done',
      header: { kind: 'local', version: 2 },
      length: 16,
    });
    // LOCAL with bytes after it: skipped whatever they are.
    expect(parseProxyHeader(encodeV2(undefined, Buffer.from([1, 2, 3, 4, 5])))).toMatchObject({ length: 21 });
    const withFamily = (famProto: number, block: number): Buffer => {
      const h = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, famProto, 0, block]), Buffer.alloc(block)]);
      return h;
    };
    for (const [fp, len] of [
      [0x00, 0],
      [0x31, 216],
      [0x12, 12],
    ] as const)
      expect(parseProxyHeader(withFamily(fp, len))).toMatchObject({
        state: 'done',
        header: { kind: 'local' },
      });
  });

  it.each([
    ['version 1', [0x11, 0x11, 0, 12], 12, 'version 1'],
    ['command 2', [0x22, 0x11, 0, 12], 12, 'command 2'],
    ['family 4', [0x21, 0x41, 0, 12], 12, 'family/protocol'],
    ['protocol 3', [0x21, 0x13, 0, 12], 12, 'family/protocol'],
    ['short IPv4 block', [0x21, 0x11, 0, 8], 8, 'shorter than its family'],
    ['short IPv6 block', [0x21, 0x21, 0, 12], 12, 'shorter than its family'],
    ['over the limit', [0x21, 0x11, 0x10, 0x01], 0, 'over the limit'],
    ['truncated TLV', [0x21, 0x11, 0, 14], 14, 'truncated TLV'],
  ])('refuses %s', (_name, head, body, reason) => {
    const bytes = Buffer.concat([V2_SIGNATURE, Buffer.from(head), Buffer.alloc(body)]);
    const r = parseProxyHeader(bytes);
    expect(r.state === 'refused' && r.reason).toContain(reason);
  });

  it('refuses a TLV running past the header', () => {
    const tlv = Buffer.from([0x20, 0x00, 0x09, 1, 2]);
    const r = parseProxyHeader(encodeV2({ source: v4('1.2.3.4', 1), destination: v4('5.6.7.8', 2) }, tlv));
    expect(r).toMatchObject({ state: 'refused', reason: 'v2 header: TLV longer than the header' });
  });

  it('waits for the signature, the fixed part and the declared length', () => {
    const whole = encodeV2({ source: v4('1.2.3.4', 1), destination: v4('5.6.7.8', 2) });
    for (let i = 1; i < whole.length; i++)
      expect(parseProxyHeader(whole.subarray(0, i))).toEqual({ state: 'more' });
    expect(parseProxyHeader(whole).state).toBe('done');
    expect(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01])).state).toBe('refused');
  });
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const port = fc.nat(65535);

describe('properties', () => {
  it('v1 round trip, whatever the reads', () => {
    fc.assert(
      fc.property(ipv4, ipv4, port, port, fc.array(fc.nat(200)), (s, d, sp, dp, cuts) => {
        const bytes = Buffer.concat([encodeV1(v4(s, sp), v4(d, dp)), ascii('GET / HTTP/1.1\r\n')]);
        const r = feed(bytes, cuts);
        expect(r).toEqual({
          state: 'done',
          header: { kind: 'proxied', version: 1, source: v4(s, sp), destination: v4(d, dp) },
          length: bytes.length - 16,
        });
      }),
    );
  });

  it('v2 round trip of IPv6 bytes (text form and back), with TLVs, whatever the reads', () => {
    const tlv = fc
      .tuple(fc.nat(255), fc.uint8Array({ maxLength: 40 }))
      .map(([type, value]) =>
        Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]),
      );
    fc.assert(
      fc.property(
        ipv6Bytes,
        ipv6Bytes,
        port,
        port,
        fc.array(tlv, { maxLength: 4 }),
        fc.array(fc.nat(300)),
        (s, d, sp, dp, tlvs, cuts) => {
          const raw = Buffer.concat([
            V2_SIGNATURE,
            Buffer.from([0x21, 0x21, 0, 0]),
            s,
            d,
            Buffer.alloc(4),
            ...tlvs,
          ]);
          raw.writeUInt16BE(raw.length - 16, 14);
          raw.writeUInt16BE(sp, 16 + 32);
          raw.writeUInt16BE(dp, 16 + 34);
          const r = feed(Buffer.concat([raw, ascii('\x16\x03\x01')]), cuts);
          if (r.state !== 'done' || r.header.kind !== 'proxied')
            throw new Error(`not parsed: ${JSON.stringify(r)}`);
          expect(r.length).toBe(raw.length);
          // Text form back to bytes: the same header.
          const again = encodeV2(
            { source: r.header.source, destination: r.header.destination },
            Buffer.concat(tlvs),
          );
          expect(again.equals(raw)).toBe(true);
        },
      ),
    );
  });

  it('random bytes never throw, and `more` only within the bound', () => {
    const start = fc.constantFrom(Buffer.alloc(0), ascii('PROXY '), ascii('PROXY TCP4 '), V2_SIGNATURE);
    fc.assert(
      fc.property(start, fc.uint8Array({ maxLength: 300 }), (prefix, rest) => {
        const bytes = Buffer.concat([prefix, rest]);
        const r = parseProxyHeader(bytes);
        if (r.state === 'more') expect(bytes.length).toBeLessThan(16 + 4096);
        if (r.state === 'more' && bytes[0] === 0x50) expect(bytes.length).toBeLessThan(V1_MAX_LENGTH);
        if (r.state === 'done') expect(r.length).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid header with any one byte changed is refused or read, never crashes', () => {
    const header = encodeV2(
      { source: v4('198.51.100.9', 5000), destination: v4('10.1.1.1', 443) },
      Buffer.from([4, 0, 1, 0]),
    );
    fc.assert(
      fc.property(fc.nat(header.length - 1), fc.nat(255), (at, value) => {
        const mutated = Buffer.from(header);
        mutated[at] = value;
        const r = parseProxyHeader(mutated);
        expect(['done', 'refused', 'more']).toContain(r.state);
      }),
    );
  });
});

describe('--proxy-protocol', () => {
  it.each([
    ['all', { http: true, https: true }],
    ['none', { http: false, https: false }],
    ['80', { http: true, https: false }],
    ['443', { http: false, https: true }],
    ['80, 443', { http: true, https: true }],
  ])('%s', (value, ports) => expect(parseProxyProtocolPorts(value, 80, 443)).toEqual(ports));

  it('all without HTTPS is the HTTP port only', () => {
    expect(parseProxyProtocolPorts('all', 80, null)).toEqual({ http: true, https: false });
  });

  it.each([
    ['8080', 'port 8080 is neither the HTTP port (80) nor the HTTPS port (443)'],
    ['80,x', '--proxy-protocol: not a port: "x"'],
    ['yes', '--proxy-protocol: not a port: "yes"'],
  ])('refuses %s', (value, message) =>
    expect(() => parseProxyProtocolPorts(value, 80, 443)).toThrow(message),
  );
});
