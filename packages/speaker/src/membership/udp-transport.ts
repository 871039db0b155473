/** Heartbeats over UDP: one socket bound to the speaker's memberlist address and port. */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export interface Transport {
  send(data: Buffer, address: string, port: number): void;
  onMessage(handler: (data: Buffer) => void): void;
  close(): Promise<void>;
}

export interface UdpTransport extends Transport {
  readonly port: number;
}

/**
 * Binds `address:port` (port 0 picks one). An IPv6 or wildcard bind uses a dual-stack socket so
 * IPv4 and IPv6 peers both work. Send errors (unreachable peer, no route while a link is down)
 * are dropped: a missed heartbeat is exactly what the detector is there to notice.
 */
export async function openUdpTransport(address: string, port: number): Promise<UdpTransport> {
  const v6 = address === '' || address === '::' || isIP(address) === 6;
  const socket: Socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: false });
  const handlers: Array<(data: Buffer) => void> = [];
  let pending = 0;
  socket.on('message', (data) => {
    for (const h of handlers) h(data);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address || '::', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    port: socket.address().port,
    send: (data, to, toPort) => {
      // A dual-stack socket reaches IPv4 peers through IPv4-mapped addresses.
      const target = v6 && isIP(to) === 4 ? `::ffff:${to}` : to;
      pending++;
      socket.send(data, toPort, target, () => pending--);
    },
    onMessage: (handler) => handlers.push(handler),
    close: async () => {
      // Sends complete asynchronously: let the last ones (a leave notice) out first, briefly.
      for (let i = 0; i < 20 && pending > 0; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
