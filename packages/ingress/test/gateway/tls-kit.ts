// A TLS backend that answers like the conformance suite's tcp-backend (echo-basic tcpserver):
// a welcome line, PING -> PONG, IS_TLS -> true, TEST -> its namespace, pod and the SNI it got.
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';

export const WELCOME = 'Gateway API Test TCP Server\n';

export interface TlsBackend {
  readonly server: tls.Server;
  readonly port: number;
  /** TLS connections accepted (handshake done). */
  connections: number;
  close(): Promise<void>;
}

export async function startTlsBackend(
  namespace: string,
  name: string,
  pair: { cert: string; key: string },
): Promise<TlsBackend> {
  const sockets = new Set<Socket>();
  const backend: TlsBackend = {
    server: tls.createServer({ cert: pair.cert, key: pair.key }, (socket) => {
      backend.connections++;
      socket.write(WELCOME);
      let buffered = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'PING') socket.write('PONG\n');
          else if (line === 'IS_TLS') socket.write('true\n');
          else if (line === 'TEST')
            socket.write(
              `${JSON.stringify({ namespace, pod: `${name}-pod`, isTLS: true, tls: { serverName: socket.servername } })}\n`,
            );
        }
      });
      socket.on('error', () => undefined);
    }),
    port: 0,
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => backend.server.close(r));
    },
  };
  backend.server.on('connection', (s: Socket) => sockets.add(s.once('close', () => sockets.delete(s))));
  await new Promise<void>((r) => backend.server.listen(0, '127.0.0.1', r));
  (backend as { port: number }).port = (backend.server.address() as AddressInfo).port;
  return backend;
}

/**
 * The conversation the suite's tcp client has: welcome, PING, IS_TLS, TEST; with the server's
 * certificate checked against `ca` for `servername`.
 */
export function converse(
  address: string,
  port: number,
  servername: string,
  ca: string,
): Promise<{ lines: string[]; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, servername, ca });
    const lines: string[] = [];
    let buffered = '';
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${JSON.stringify(lines)}`)));
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        const next = ['PING', 'IS_TLS', 'TEST'][lines.length - 1];
        if (next) socket.write(`${next}\n`);
        else {
          const fingerprint = socket.getPeerCertificate().fingerprint256;
          socket.removeAllListeners('close');
          socket.destroy();
          resolve({ lines, fingerprint });
        }
      }
    });
  });
}
