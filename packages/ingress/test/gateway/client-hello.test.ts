// The ClientHello reader on real ClientHellos (captured from Node's TLS client) and on what an
// attacker sends: garbage, a ClientHello dribbled one byte at a time or cut into one-byte records,
// a record or message over the bounds, lengths that do not add up, no SNI, a bad name.
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from '../../src/gateway/index.js';

/** The first flight a TLS client sends (its ClientHello records), captured on a plain TCP server. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  let captured: Buffer = Buffer.alloc(0);
  const server = net.createServer((s) => {
    s.on('data', (c: Buffer) => (captured = Buffer.concat([captured, c])));
    setTimeout(() => s.destroy(), 100);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => {
    const client = tls.connect({
      host: '127.0.0.1',
      port,
      ...(servername !== undefined ? { servername } : {}),
    });
    client.on('error', () => undefined);
    client.on('close', () => resolve());
  });
  await new Promise((r) => server.close(r));
  return captured;
}

/** The same handshake bytes re-cut into records of `size` bytes. */
function recut(hello: Buffer, size: number): Buffer {
  const handshake = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const part = handshake.subarray(i, i + size);
    out.push(Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part);
  }
  return Buffer.concat(out);
}

describe('readClientHello', () => {
  it('reads the server name of a real ClientHello, lower case', async () => {
    const hello = await captureHello('Abc.Example.com');
    expect(readClientHello(hello)).toEqual({ state: 'done', serverName: 'abc.example.com' });
  });

  it('no SNI (a client connecting by IP address): done without a server name', async () => {
    const hello = await captureHello(undefined);
    expect(readClientHello(hello)).toEqual({ state: 'done', serverName: undefined });
  });

  it('dribbled one byte at a time: "more" until the last byte, then the name', async () => {
    const hello = await captureHello('abc.example.com');
    for (let n = 1; n < hello.length; n++) expect(readClientHello(hello.subarray(0, n)).state).toBe('more');
    expect(readClientHello(hello)).toEqual({ state: 'done', serverName: 'abc.example.com' });
  });

  it('the handshake cut into 7-byte and into 1-byte records (fragmented) is reassembled', async () => {
    const hello = await captureHello('abc.example.com');
    expect(readClientHello(recut(hello, 7))).toEqual({ state: 'done', serverName: 'abc.example.com' });
    expect(readClientHello(recut(hello, 1))).toEqual({ state: 'done', serverName: 'abc.example.com' });
  });

  it('one-byte records that never complete a (large) ClientHello: invalid once the bytes pass the bound', () => {
    const n = MAX_CLIENT_HELLO_BYTES - 4;
    const header = Buffer.from([1, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
    const payload = Buffer.concat([header, Buffer.alloc(n, 0)]);
    const records = Buffer.concat([...payload].map((b) => Buffer.from([22, 3, 1, 0, 1, b])));
    let result = readClientHello(records.subarray(0, MAX_CLIENT_HELLO_BYTES));
    expect(result.state).toBe('more');
    result = readClientHello(records.subarray(0, MAX_CLIENT_HELLO_BYTES + 20));
    expect(result).toMatchObject({ state: 'invalid' });
  });

  it('garbage, an HTTP request, a record over 16 KiB, a ClientHello over the bound: invalid at once', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toMatchObject({ state: 'invalid' });
    expect(readClientHello(Buffer.from([0x16]))).toEqual({ state: 'more' });
    expect(readClientHello(Buffer.from([0x17, 3, 3, 0, 5]))).toMatchObject({ state: 'invalid' });
    expect(readClientHello(Buffer.from([0x16, 3, 1, 0xff, 0xff]))).toMatchObject({
      state: 'invalid',
      reason: 'record length 65535 is out of bounds',
    });
    const big = MAX_CLIENT_HELLO_BYTES + 1;
    expect(
      readClientHello(Buffer.from([0x16, 3, 1, 0, 4, 1, (big >> 16) & 0xff, (big >> 8) & 0xff, big & 0xff])),
    ).toMatchObject({ state: 'invalid', reason: `a ClientHello of ${big + 4} bytes is over the bound` });
    expect(readClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0]))).toMatchObject({ state: 'invalid' });
  });

  it('lengths that do not add up, a repeated extension, a name that is no hostname: invalid', async () => {
    const hello = await captureHello('abc.example.com');
    // The extensions length of a real ClientHello, off by one.
    const body = hello.subarray(9);
    let at = 2 + 32;
    at += 1 + body[at]!;
    at += 2 + body.readUInt16BE(at);
    at += 1 + body[at]!;
    const broken = Buffer.from(hello);
    broken.writeUInt16BE(body.readUInt16BE(at) - 1, 9 + at);
    expect(readClientHello(broken)).toMatchObject({ state: 'invalid' });
    // server_name twice: the SNI extension appended again (lengths fixed up).
    const sni = Buffer.from('abc.example.com');
    const ext = Buffer.concat([
      Buffer.from([0, 0, 0, sni.length + 5, 0, sni.length + 3, 0, 0, sni.length]),
      sni,
    ]);
    const twice = Buffer.concat([hello, ext]);
    twice.writeUInt16BE(hello.readUInt16BE(3) + ext.length, 3);
    twice.writeUIntBE(hello.readUIntBE(6, 3) + ext.length, 6, 3);
    twice.writeUInt16BE(body.readUInt16BE(at) + ext.length, 9 + at);
    expect(readClientHello(twice)).toEqual({ state: 'invalid', reason: 'extension 0 appears twice' });
    const bad = Buffer.from(hello);
    const i = bad.indexOf('abc.example.com');
    bad[i] = 0x20; // a space in the name
    expect(readClientHello(bad)).toMatchObject({ state: 'invalid' });
  });

  it('random bytes after a valid record header never throw', () => {
    for (let seed = 0; seed < 2000; seed++) {
      const n = 5 + (seed % 300);
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (seed * 7919 + i * 104729) & 0xff;
      b[0] = 22;
      b[1] = 3;
      b[3] = 0;
      b[4] = Math.min(n - 5, 255) || 1;
      b[5] = 1;
      expect(() => readClientHello(b)).not.toThrow();
    }
  });
});
