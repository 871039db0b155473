/**
 * TCP sockets with options Node cannot set before connect (RFC 2385 TCP-MD5, TTL, source address),
 * made by the native addon and handed to Node as file descriptors (see csrc/tcp_md5.c).
 */
import { loadNative } from './index.js';

export interface TcpConnectOptions {
  peerAddress: string;
  /** 1..65535. */
  peerPort: number;
  localAddress?: string;
  /** 0..65535; 0 or unset lets the kernel pick. */
  localPort?: number;
  /** RFC 2385 key shared with the peer (at most 80 octets). */
  md5Key?: string;
  /** IP TTL / IPv6 hop limit of the outgoing packets, 1..255; unset keeps the system default. */
  ttl?: number;
  /** How long to wait for the handshake, > 0 ms (rounded up to whole ms); default 10 s. */
  timeoutMs?: number;
}

/** Connects on the libuv threadpool; resolves to the connected fd for `new net.Socket({ fd })`. */
export async function tcpConnect(o: TcpConnectOptions): Promise<number> {
  checkInteger('peerPort', o.peerPort, 1, 65535);
  if (o.localPort !== undefined) checkInteger('localPort', o.localPort, 0, 65535);
  if (o.ttl !== undefined) checkInteger('ttl', o.ttl, 1, 255);
  if (o.timeoutMs !== undefined) checkTimeout(o.timeoutMs);
  if (o.md5Key) checkMd5Key(o.md5Key);
  return loadNative().tcpConnect(
    o.peerAddress,
    o.peerPort,
    o.localAddress ?? null,
    o.localPort ?? 0,
    o.md5Key ?? null,
    o.ttl ?? 0, // 0 tells the addon to leave the system default
    Math.ceil(o.timeoutMs ?? 10_000),
  ) as Promise<number>;
}

/** A listening, non-blocking socket for `server.listen({ fd })`. "::" accepts IPv4 too. */
export function tcpListen(address: string, port: number, backlog = 64): number {
  return loadNative().tcpListen(address, port, backlog) as number;
}

/** Adds (or with "" removes) the MD5 key for one peer on a socket, typically a listening one. */
export function tcpSetMd5(fd: number, peerAddress: string, key: string): void {
  checkMd5Key(key);
  loadNative().tcpSetMd5(fd, peerAddress, key);
}

export function tcpSetTtl(fd: number, ttl: number): void {
  loadNative().tcpSetTtl(fd, ttl);
}

export function tcpCloseFd(fd: number): void {
  loadNative().tcpCloseFd(fd);
}

/** The kernel holds at most 80 octets of key (TCP_MD5SIG_MAXKEYLEN); a longer one must not be cut short silently. */
const maxMd5KeyOctets = 80;

function checkMd5Key(key: string): void {
  const octets = Buffer.byteLength(key);
  if (octets > maxMd5KeyOctets) {
    throw new RangeError(
      `TCP-MD5 password is ${octets} octets long; RFC 2385 keys are limited to ${maxMd5KeyOctets}`,
    );
  }
}

/** Throws a TypeError for a non-number and a RangeError for a number outside min..max or with a fraction. */
function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number') {
    throw new TypeError(`tcpConnect: ${name} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`tcpConnect: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** poll(2) takes a signed 32-bit count of milliseconds. */
const maxTimeoutMs = 2 ** 31 - 1;

function checkTimeout(value: unknown): void {
  if (typeof value !== 'number') {
    throw new TypeError(`tcpConnect: timeoutMs must be a number, got ${describe(value)}`);
  }
  if (!(value > 0 && value <= maxTimeoutMs)) {
    throw new RangeError(
      `tcpConnect: timeoutMs must be greater than 0 and at most ${maxTimeoutMs}, got ${value}`,
    );
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `string ${JSON.stringify(value)}` : typeof value;
}
