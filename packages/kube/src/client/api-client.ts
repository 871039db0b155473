/**
 * One kept-alive connection pool to one API server, shared by every informer and writer of a
 * process: no connection or TLS handshake per call. Requests and watch streams speak JSON and
 * return plain objects; a failed call throws an ApiError whose `code` is the HTTP status (what
 * `apiStatus`, `isConflict` and `isNotFound` read).
 */
import { Pool, type Dispatcher } from 'undici';
import type { ApiServerCredentials } from './credentials.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status. */
    readonly code: number,
    /** The Status object's reason (NotFound, Conflict, Expired, ...), when the server sent one. */
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  /** Default application/json; patches name their type (merge-patch, strategic-merge-patch, json-patch, apply-patch). */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

/**
 * Most sockets a process opens to one API server. Over TLS undici offers HTTP/2 and kube-apiserver
 * takes it: every watch and request is then a stream on one socket. Over HTTP/1.1 (the
 * development API server, or a server without HTTP/2) each open watch holds a socket (the
 * controller has 2, the speaker 4, the ingress primary 5) and the rest carry one request each.
 * A burst's writes (the controller keeps up to 32 status writes and 8 Event writes in flight)
 * queue for those sockets instead of opening more, so no burst costs more than this many sockets
 * and TLS handshakes, while ten or more requests still overlap their round trips.
 */
export const DEFAULT_CONNECTIONS = 16;

export interface ApiClientOptions {
  /** Most connections to the server at once (DEFAULT_CONNECTIONS); each open watch holds one. */
  connections?: number;
  /** A request that has not answered in this time fails (watches are exempt). */
  requestTimeoutMs?: number;
}

export class ApiClient {
  private readonly pool: Pool;
  private readonly timeoutMs: number;

  constructor(
    readonly credentials: ApiServerCredentials,
    options: ApiClientOptions = {},
  ) {
    const { tls } = credentials;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.pool = new Pool(credentials.server, {
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      keepAliveTimeout: 30_000,
      connect: {
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecureSkipTlsVerify,
        servername: tls.serverName,
      },
    });
  }

  /** Sockets open to the server now (for tests and metrics). */
  get connectedSockets(): number {
    return this.pool.stats.connected;
  }

  async request<T = unknown>(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const res = await this.send(method, path, options, this.timeoutMs);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw errorFrom(res.statusCode, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A watch: calls `onEvent` with each JSON line until the server ends the stream, the signal
   * aborts, or the connection fails (then it rejects).
   */
  async watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: (event: unknown) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.send('GET', path, { query: { ...query, watch: true }, signal }, 0);
    if (res.statusCode >= 400) throw errorFrom(res.statusCode, await res.body.text(), 'WATCH', path);
    let pending = '';
    for await (const chunk of res.body) {
      pending += (chunk as Buffer).toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) onEvent(JSON.parse(line));
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: RequestOptions,
    timeoutMs: number,
  ): Promise<Dispatcher.ResponseData> {
    const query = Object.entries(options.query ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const fullPath = query ? `${path}?${query}` : path;
    for (let attempt = 0; ; attempt++) {
      const token = await this.credentials.tokens.token();
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
      const res = await this.pool.request({
        method,
        path: fullPath,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      // A rotated or expired token: read it anew once before giving up.
      if (res.statusCode === 401 && attempt === 0 && token) {
        await res.body.dump();
        this.credentials.tokens.invalidate();
        continue;
      }
      return res;
    }
  }
}

function errorFrom(status: number, text: string, method: string, path: string): ApiError {
  let reason: string | undefined;
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason;
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the text
  }
  return new ApiError(
    status,
    reason,
    `${method} ${path}: ${status}${reason ? ` ${reason}` : ''}: ${message}`,
  );
}
