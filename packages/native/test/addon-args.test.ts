import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/index.js';

/** The addon called directly, as a caller bypassing the TS wrappers would. */
const native = loadNative();

/** The TypeError the addon throws for an argument of the wrong type, `code` included. */
function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

describe('addon argument checks shared by every function (csrc/napi_util.c)', () => {
  it('a call with too few arguments throws its usage instead of reading undefined', () => {
    expect(() => native.udpTtlLocalPort()).toThrow(argTypeError('udpTtlLocalPort(handle)'));
    expect(() => native.tcpSetTtl(3)).toThrow(argTypeError('tcpSetTtl(fd, ttl)'));
    expect(() => native.packetSend({})).toThrow(argTypeError('packetSend(handle, frame)'));
  });

  it('a handle that is not one throws a TypeError naming it', () => {
    expect(() => native.packetClose({})).toThrow(
      argTypeError('packetClose: handle must be a packet socket handle, got object'),
    );
    expect(() => native.udpTtlClose(7)).toThrow(
      argTypeError('udpTtlClose: handle must be a udpTtl handle, got number'),
    );
  });

  it('checks buffers, their length, booleans and numbers', () => {
    const groups: unknown = native.groupOpen();
    try {
      expect(() => native.groupMembership(groups, 1, Buffer.alloc(15), true)).toThrow(
        /groupMembership: group must be 16 bytes long, got 15/,
      );
      expect(() => native.groupMembership(groups, 1, 'ff02::1', true)).toThrow(
        argTypeError('groupMembership: group must be a Buffer, got string'),
      );
      expect(() => native.groupMembership(groups, 1, Buffer.alloc(16), 1)).toThrow(
        argTypeError('groupMembership: add must be a boolean, got number'),
      );
      expect(() => native.groupMembership(groups, 1.5, Buffer.alloc(16), true)).toThrow(
        /groupMembership: ifindex must be an integer within 32 bits/,
      );
    } finally {
      native.groupClose(groups);
    }
  });

  it('checks callbacks, optional ones included', () => {
    expect(() => native.linkWatchOpen(null)).toThrow(
      argTypeError('linkWatchOpen: onChange must be a function, got null'),
    );
    expect(() => native.udpTtlOpen('127.0.0.1', 0, null, 'cb')).toThrow(
      argTypeError('udpTtlOpen: onMessage must be a function or null, got string'),
    );
    expect(() => native.udpTtlOpen('127.0.0.1', 0, 5, null)).toThrow(
      argTypeError('udpTtlOpen: ifname must be a string or null, got number'),
    );
  });
});
