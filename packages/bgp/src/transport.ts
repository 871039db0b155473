/**
 * TCP for BGP sessions. Plain connections use Node's net module. When a TCP-MD5 key (RFC 2385) or
 * a TTL (eBGP multihop, RFC 4271 leaves it to the implementation) must be set before connect, the
 * native helper makes and connects the socket and Node adopts the connected file descriptor.
 */
import { connect as netConnect, createServer, type NetConnectOpts, type Server, Socket } from 'node:net';
import { tcpConnect, tcpListen, tcpSetMd5, tcpSetTtl } from '@portico/native';

export interface ConnectOptions {
  peerAddress: string;
  peerPort: number;
  localAddress?: string;
  password?: string;
  ttl?: number;
  timeoutMs: number;
}

export async function connectTcp(o: ConnectOptions): Promise<Socket> {
  if (o.password || o.ttl) {
    const native: Parameters<typeof tcpConnect>[0] = {
      peerAddress: o.peerAddress,
      peerPort: o.peerPort,
      timeoutMs: o.timeoutMs,
    };
    if (o.localAddress) native.localAddress = o.localAddress;
    if (o.password) native.md5Key = o.password;
    if (o.ttl) native.ttl = o.ttl;
    const fd = await tcpConnect(native);
    return new Socket({ fd, readable: true, writable: true });
  }
  return new Promise((resolve, reject) => {
    const options: NetConnectOpts = { host: o.peerAddress, port: o.peerPort };
    if (o.localAddress) options.localAddress = o.localAddress;
    const socket = netConnect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        Object.assign(new Error(`connect ${o.peerAddress} port ${o.peerPort}: timed out`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, o.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface ListenOptions {
  address: string;
  port: number;
  /** Peer address -> RFC 2385 key, applied to the listening socket so the kernel accepts signed SYNs. */
  passwords: Map<string, string>;
  onConnection: (socket: Socket) => void;
}

/** A listener for incoming BGP connections; keys can be added when peers are added. */
export class Listener {
  private server: Server | undefined;
  private fd: number | undefined;

  constructor(private readonly options: ListenOptions) {}

  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, this.options.onConnection);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The listening fd comes from the native helper so MD5 keys can be set on it before any SYN.
      this.fd = tcpListen(this.options.address, this.options.port);
      for (const [peer, key] of this.options.passwords) tcpSetMd5(this.fd, peer, key);
      server.listen({ fd: this.fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  setPassword(peer: string, key: string): void {
    if (this.fd !== undefined) tcpSetMd5(this.fd, peer, key);
  }

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Sets the TTL of an accepted connection (multihop peers), through the fd Node keeps internally. */
export function setSocketTtl(socket: Socket, ttl: number): void {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) tcpSetTtl(fd, ttl);
}
