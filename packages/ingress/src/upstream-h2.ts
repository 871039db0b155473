/**
 * HTTP/2 to pods (backend-protocol GRPC: h2c with prior knowledge; GRPCS: h2 over TLS by ALPN):
 * one pooled session per endpoint and connection settings, many concurrent streams on it, as
 * nginx's grpc_pass keeps one connection per upstream. A session that fails, closes or is told
 * GOAWAY leaves the pool at once (its running streams finish or fail on their own); a session of
 * an origin that left the routing table is closed gracefully (running streams finish).
 *
 * The interface, small on purpose so another HTTP/2 upstream (the Gateway API's) can share it:
 *   `request(origin, headers, { tls, connectTimeout, endStream })` -> a ClientHttp2Stream,
 *   `retain(origins)`, `close()`.
 */
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { ConnectionOptions } from 'node:tls';

export interface H2RequestOptions {
  /** TLS settings for h2 over TLS; absent: h2c. */
  readonly tls?: ConnectionOptions | undefined;
  /** Distinguishes sessions of the same origin with different TLS settings. */
  readonly tlsKey?: string | undefined;
  /** ms to establish the session (connect, and the TLS handshake). */
  readonly connectTimeout: number;
  /** No request body: the stream's end is sent with its headers. */
  readonly endStream: boolean;
}

/** An error a stream gets when its session could not be established in time. */
export class H2ConnectTimeout extends Error {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
}

export class H2Upstreams {
  private readonly sessions = new Map<string, { origin: string; session: ClientHttp2Session }>();

  /** Opens a stream to `origin` (`http://a:p`, the endpoint's pool key) on its pooled session. */
  request(origin: string, headers: OutgoingHttpHeaders, options: H2RequestOptions): ClientHttp2Stream {
    const key = options.tls ? `${origin}#${options.tlsKey ?? ''}` : origin;
    let entry = this.sessions.get(key);
    if (!entry || entry.session.closed || entry.session.destroyed) {
      entry = { origin, session: this.open(key, origin, options) };
      this.sessions.set(key, entry);
    }
    return entry.session.request(headers, { endStream: options.endStream });
  }

  private open(key: string, origin: string, options: H2RequestOptions): ClientHttp2Session {
    const authority = options.tls ? `https${origin.slice(4)}` : origin;
    const session = connect(authority, options.tls ? { ...options.tls, ALPNProtocols: ['h2'] } : {});
    const forget = (): void => {
      if (this.sessions.get(key)?.session === session) this.sessions.delete(key);
    };
    const timer = setTimeout(
      () => session.destroy(new H2ConnectTimeout('upstream connect timeout')),
      options.connectTimeout,
    );
    session.once('connect', () => clearTimeout(timer));
    session.once('close', () => {
      clearTimeout(timer);
      forget();
    });
    session.once('goaway', forget);
    // Errors reach the streams; the session's own would otherwise reach the process.
    session.on('error', forget);
    // No ping keeps it alive: an idle session closes itself (unref: it never holds the process).
    session.unref();
    session.setTimeout(60_000, () => session.close());
    return session;
  }

  /** Closes (gracefully) the sessions of origins not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, { origin, session }] of this.sessions) {
      if (keep.has(origin)) continue;
      this.sessions.delete(key);
      session.close();
    }
  }

  close(): void {
    for (const { session } of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }
}

/** RST_STREAM codes worth naming. */
export const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = constants;
