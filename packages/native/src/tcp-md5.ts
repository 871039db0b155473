/**
 * TCP sockets with options Node cannot set before connect (RFC 2385 TCP-MD5, TTL, source address),
 * made by the native addon and handed to Node as file descriptors (see csrc/tcp_md5.c).
 */
import { loadNative } from './index.js';

export interface TcpConnectOptions {
  peerAddress: string;
  peerPort: number;
  localAddress?: string;
  localPort?: number;
  /** RFC 2385 key shared with the peer (at most 80 octets). */
  md5Key?: string;
  /** IP TTL / IPv6 hop limit of the outgoing packets; 0 or unset keeps the system default. */
  ttl?: number;
  timeoutMs?: number;
}

/** Connects on the libuv threadpool; resolves to the connected fd for `new net.Socket({ fd })`. */
export async function tcpConnect(o: TcpConnectOptions): Promise<number> {
  if (o.md5Key) checkMd5Key(o.md5Key);
  return loadNative().tcpConnect(
    o.peerAddress,
    o.peerPort,
    o.localAddress ?? null,
    o.localPort ?? 0,
    o.md5Key ?? null,
    o.ttl ?? 0,
    o.timeoutMs ?? 10_000,
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
