/**
 * Recording pods: plain `net` servers on 127.0.0.1 that keep the exact bytes each connection
 * delivered, split them into requests with the reference reader (wire.ts), and answer each request
 * as the running case's script says (by default a 200 naming the pod and the request, so a client
 * can tell whose answer it got).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { PodName } from './routes.js';
import { parseRequest, type ParsedRequest } from './wire.js';

export interface PodRequest extends ParsedRequest {
  pod: PodName;
  /** Connection number on this pod, and request number on that connection. */
  conn: number;
  index: number;
}

/** How a pod answers a request. */
export type PodReply =
  | string
  | Buffer
  | null
  | {
      /** Bytes to write, in order; a number is a pause in ms. */
      write?: (string | Buffer | number)[];
      /** After writing: close (FIN), destroy (RST-like), pipe the connection back (a tunnel), or keep reading. */
      then?: 'close' | 'destroy' | 'tunnel';
    };

export type PodScript = (req: PodRequest) => PodReply;

export const marker = (pod: string, method: string, target: string): string =>
  `<<${pod} ${method} ${target}>>`;

export const ok = (req: PodRequest, extra = ''): string => {
  const body = marker(req.pod, req.method, req.target);
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;
};

export const defaultScript: PodScript = (req) =>
  req.method === 'HEAD' ? ok(req).replace(/<<.*$/, '') : ok(req);

export interface ConnRecord {
  pod: PodName;
  conn: number;
  opened: number;
  closed: number;
  bytes: Buffer[];
  /** A request whose head arrived but not the whole body, when the connection ended. */
  incomplete?: ParsedRequest | undefined;
  garbage?: string | undefined;
}

export class RecordingPod {
  readonly server: Server;
  port = 0;
  script: PodScript = defaultScript;
  /** Answer when the head has arrived (before the body) instead of after the whole request. */
  answerOnHead = false;
  requests: PodRequest[] = [];
  conns: ConnRecord[] = [];
  lastActivity = 0;
  private readonly sockets = new Set<Socket>();
  private nextConn = 0;

  constructor(readonly name: PodName) {
    this.server = createServer((sock) => this.accept(sock));
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Forgets the log and closes every connection (so no state leaks into the next case). */
  reset(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.requests = [];
    this.conns = [];
    this.script = defaultScript;
    this.answerOnHead = false;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    const rec: ConnRecord = {
      pod: this.name,
      conn: this.nextConn++,
      opened: Date.now(),
      closed: 0,
      bytes: [],
    };
    this.conns.push(rec);
    this.lastActivity = Date.now();
    let buf = Buffer.alloc(0);
    let index = 0;
    let answeredHead = false;
    let tunnel = false;
    let dead = false;
    const queue: PodReply[] = [];
    let writing = false;
    const flush = async (): Promise<void> => {
      if (writing) return;
      writing = true;
      while (queue.length && !sock.destroyed) {
        const reply = queue.shift()!;
        if (reply === null) continue;
        if (typeof reply === 'string' || Buffer.isBuffer(reply)) {
          sock.write(reply);
          continue;
        }
        for (const w of reply.write ?? []) {
          if (typeof w === 'number') await new Promise((r) => setTimeout(r, w));
          else if (!sock.destroyed) sock.write(w);
        }
        if (reply.then === 'close') sock.end();
        else if (reply.then === 'destroy') sock.destroy();
        else if (reply.then === 'tunnel') {
          tunnel = true;
          if (buf.length) sock.write(buf);
          buf = Buffer.alloc(0);
        }
      }
      writing = false;
    };
    const answer = (req: PodRequest): void => {
      let reply: PodReply;
      try {
        reply = this.script(req);
      } catch {
        reply = ok(req);
      }
      queue.push(reply);
      if (reply && typeof reply === 'object' && !Buffer.isBuffer(reply) && reply.then === 'tunnel')
        dead = true;
      void flush();
    };
    sock.on('data', (d: Buffer) => {
      rec.bytes.push(Buffer.from(d));
      this.lastActivity = Date.now();
      if (tunnel) return void sock.write(d);
      buf = Buffer.concat([buf, d]);
      while (!dead && buf.length) {
        const p = parseRequest(buf);
        if (!p) break;
        if (p.kind === 'garbage') {
          rec.garbage = `${p.reason}: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`;
          dead = true;
          sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          break;
        }
        if (p.kind === 'incomplete') {
          if (this.answerOnHead && !answeredHead && p.partial) {
            answeredHead = true;
            answer({ ...p.partial, pod: this.name, conn: rec.conn, index });
          }
          rec.incomplete = p.partial;
          break;
        }
        rec.incomplete = undefined;
        const req: PodRequest = {
          ...p.req,
          raw: Buffer.from(p.req.raw),
          body: Buffer.from(p.req.body),
          pod: this.name,
          conn: rec.conn,
          index: index++,
        };
        this.requests.push(req);
        buf = buf.subarray(p.used);
        if (!answeredHead) answer(req);
        answeredHead = false;
        if (dead) break;
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      rec.closed = Date.now();
      this.lastActivity = Date.now();
      this.sockets.delete(sock);
    });
  }
}
