/**
 * One request on a fresh connection to a running proxy's plain-HTTP port, on the data plane the
 * test asks for: `fast` sends a GET the fast path serves; `node` sends the same as a POST with an
 * empty chunked body, which the fast path hands to Node's server (the Node path).
 */
import { connect } from 'node:net';

export type Plane = 'fast' | 'node';

/** The whole response, as text (the connection is closed after it). */
export function planeRequest(
  port: number,
  plane: Plane,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(text));
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    sock.write(
      plane === 'fast'
        ? `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`
        : `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    );
  });
}

/** The status code of a response text (0 when there is none). */
export const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** The echo backend's name in a response text (backends.ts startEcho). */
export const podOf = (text: string): string | undefined => /"name":"(\w+)"/.exec(text)?.[1];
