import { loadNative } from './index.js';

/** One datagram as received, with the TTL (IPv4) or hop limit (IPv6) it arrived with. */
export interface UdpTtlMessage {
  data: Buffer;
  /** -1 if the kernel gave no TTL (should not happen: IP_RECVTTL / IPV6_RECVHOPLIMIT are set). */
  ttl: number;
  address: string;
  port: number;
}

export interface UdpTtlOptions {
  /** Local IPv4 or IPv6 address to bind; its form chooses the address family. */
  address: string;
  /** Local port; 0 lets the kernel choose. */
  port: number;
  /** Bind to this interface (SO_BINDTODEVICE); also the scope of IPv6 link-local peers. */
  interface?: string | undefined;
  /** Called for every datagram; leave it out for a send-only socket. */
  onMessage?: ((message: UdpTtlMessage) => void) | undefined;
}

/**
 * A UDP socket that sends with TTL/hop limit 255 and reports the TTL of received datagrams, which
 * Node's dgram cannot do (needed for the GTSM check of RFC 5881 section 5). Receiving is driven by
 * the event loop (uv_poll in csrc/udp_ttl.c). Errors carry the errno name as `code`.
 */
export class UdpTtlSocket {
  private readonly handle: unknown;
  private closed = false;

  constructor(options: UdpTtlOptions) {
    const onMessage = options.onMessage;
    this.handle = loadNative().udpTtlOpen(
      options.address,
      options.port,
      options.interface ?? null,
      onMessage
        ? (data: Buffer, ttl: number, address: string, port: number) =>
            onMessage({ data, ttl, address, port })
        : null,
    );
  }

  /** The bound local port (useful after binding port 0). */
  get localPort(): number {
    return loadNative().udpTtlLocalPort(this.handle) as number;
  }

  /** Sends one datagram; silently dropped if the socket buffer is full (datagram semantics). */
  send(data: Uint8Array, address: string, port: number): void {
    loadNative().udpTtlSend(this.handle, data, address, port);
  }

  /** Stops receiving and closes the socket; calling it again does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    loadNative().udpTtlClose(this.handle);
  }
}
