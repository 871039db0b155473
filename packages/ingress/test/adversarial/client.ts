/** Raw-socket clients: exact bytes out (with pauses), every byte back, and how the connection ended. */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** What one client connection sends: bytes, or a pause in ms, or 'end' (half-close). */
export type Step = string | Buffer | number | 'end';

export interface ClientResult {
  /** Everything the client sent (for HEAD-aware response parsing). */
  sent: string;
  received: Buffer;
  /** The proxy closed the connection (FIN or reset) before the client gave up. */
  closed: boolean;
  /** The connection was reset, or a write failed. */
  reset: boolean;
  ms: number;
}

export interface Endpoint {
  port: number;
  tls?: boolean | undefined;
  servername?: string | undefined;
}

export interface ClientOptions {
  /** Stop this long after the last byte went either way (once everything is sent). */
  quietMs?: number | undefined;
  /** Stop after this long regardless. */
  maxMs?: number | undefined;
  /** Stop shortly after this holds for what was received (once everything is sent). */
  until?: ((received: string, sent: string) => boolean) | undefined;
}

export function openSocket(ep: Endpoint): Socket {
  if (!ep.tls) return netConnect(ep.port, '127.0.0.1');
  return tlsConnect({
    host: '127.0.0.1',
    port: ep.port,
    servername: ep.servername ?? 'app.example',
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
}

export function runClient(ep: Endpoint, steps: Step[], opts: ClientOptions = {}): Promise<ClientResult> {
  const quietMs = opts.quietMs ?? 800;
  const maxMs = opts.maxMs ?? 3_000;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = openSocket(ep);
    const chunks: Buffer[] = [];
    let sent = '';
    let closed = false;
    let reset = false;
    let sending = true;
    let last = Date.now();
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      sock.destroy();
      resolve({ sent, received: Buffer.concat(chunks), closed, reset, ms: Date.now() - t0 });
    };
    // Once `until` holds, a short grace period still collects what follows (an extra response).
    let satisfiedAt = 0;
    const check = (): void => {
      if (!sending && !satisfiedAt && opts.until?.(Buffer.concat(chunks).toString('latin1'), sent))
        satisfiedAt = Date.now();
    };
    const timer = setInterval(() => {
      const now = Date.now();
      if (now - t0 > maxMs) return finish();
      check();
      if (satisfiedAt && now - satisfiedAt >= 40) return finish();
      if (!sending && now - last > quietMs) finish();
    }, 10);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      last = Date.now();
      check();
    });
    sock.on('error', () => {
      reset = true;
    });
    sock.on('close', () => {
      closed = true;
      sending = false;
      finish();
    });
    const connectEvent = ep.tls ? 'secureConnect' : 'connect';
    sock.once(connectEvent, async () => {
      for (const step of steps) {
        if (closed) break;
        if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
        else if (step === 'end') sock.end();
        else {
          sent += typeof step === 'string' ? step : step.toString('latin1');
          sock.write(typeof step === 'string' ? Buffer.from(step, 'latin1') : step);
        }
        last = Date.now();
      }
      last = Date.now();
      sending = false;
    });
  });
}
