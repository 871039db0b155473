import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadNative, tcpCloseFd, tcpConnect, tcpListen, type TcpConnectOptions } from '../src/index.js';

/** The addon called directly, as a caller bypassing the TS wrapper would. */
const native = loadNative();
const good = ['127.0.0.1', 9, null, 0, null, 64, 1000] as const;

/** The TypeError the addon throws for an argument of the wrong type, `code` included. */
function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

/** The argument list `good` with the argument at `index` replaced. */
function withArg(index: number, value: unknown): unknown[] {
  const args: unknown[] = [...good];
  args[index] = value;
  return args;
}

describe('addon tcpConnect checks argument types', () => {
  it.each([
    [1, 'port', '179', 'string'],
    [3, 'localPort', '0', 'string'],
    [5, 'ttl', '64', 'string'],
    [6, 'timeoutMs', undefined, 'undefined'],
    [6, 'timeoutMs', null, 'null'],
  ])('argument %i (%s) = %j throws a TypeError naming it', (index, name, value, got) => {
    expect(() => native.tcpConnect(...withArg(index, value))).toThrow(
      argTypeError(`tcpConnect: ${name} must be a number, got ${got}`),
    );
  });

  it('refuses numbers that would be truncated or wrapped to 32 bits', () => {
    expect(() => native.tcpConnect(...withArg(1, 179.5))).toThrow(RangeError);
    expect(() => native.tcpConnect(...withArg(5, Number.NaN))).toThrow(/ttl must be an integer/);
    expect(() => native.tcpConnect(...withArg(6, 2 ** 32 + 5))).toThrow(/timeoutMs must be an integer/);
  });

  it('checks the string arguments too', () => {
    expect(() => native.tcpConnect(...withArg(0, 3232235777))).toThrow(
      argTypeError('tcpConnect: peer must be a string, got number'),
    );
    expect(() => native.tcpConnect(...withArg(2, 1))).toThrow(
      argTypeError('tcpConnect: local must be a string or null, got number'),
    );
    expect(() => native.tcpConnect(...withArg(4, 'k'.repeat(81)))).toThrow(/key is 81 bytes long/);
  });

  it('tcpListen refuses a port that is not a number instead of binding a random port', () => {
    expect(() => native.tcpListen('127.0.0.1', '179', 64)).toThrow(
      argTypeError('tcpListen: port must be a number, got string'),
    );
  });
});

describe('tcpConnect wrapper checks ranges', () => {
  const base: TcpConnectOptions = { peerAddress: '127.0.0.1', peerPort: 9, timeoutMs: 1000 };

  it.each([
    [{ peerPort: 0 }, 'peerPort must be an integer from 1 to 65535, got 0'],
    [{ peerPort: 65536 }, 'peerPort must be an integer from 1 to 65535, got 65536'],
    [{ peerPort: 17.5 }, 'peerPort must be an integer from 1 to 65535, got 17.5'],
    [{ localPort: -1 }, 'localPort must be an integer from 0 to 65535, got -1'],
    [{ ttl: 0 }, 'ttl must be an integer from 1 to 255, got 0'],
    [{ ttl: 256 }, 'ttl must be an integer from 1 to 255, got 256'],
    [{ timeoutMs: 0 }, 'timeoutMs must be greater than 0 and at most 2147483647, got 0'],
    [{ timeoutMs: -5 }, 'timeoutMs must be greater than 0 and at most 2147483647, got -5'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs must be greater than 0 and at most 2147483647, got NaN'],
  ])('%o is refused with a RangeError naming it', async (override, message) => {
    await expect(tcpConnect({ ...base, ...override })).rejects.toThrow(
      new RangeError(`tcpConnect: ${message}`),
    );
  });

  it('a port of the wrong type is a TypeError', async () => {
    const options = { ...base, peerPort: '179' } as unknown as TcpConnectOptions;
    await expect(tcpConnect(options)).rejects.toThrow(
      new TypeError('tcpConnect: peerPort must be a number, got string "179"'),
    );
  });

  it('accepts the boundary TTLs and a fractional timeout, and connects on loopback', async () => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      for (const ttl of [1, 255]) {
        const fd = await tcpConnect({ peerAddress: '127.0.0.1', peerPort: port, ttl, timeoutMs: 2000.5 });
        expect(fd).toBeGreaterThanOrEqual(0);
        tcpCloseFd(fd);
      }
    } finally {
      server.close();
    }
  });

  it('tcpListen still accepts numbers', () => {
    const fd = tcpListen('127.0.0.1', 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    tcpCloseFd(fd);
  });
});
