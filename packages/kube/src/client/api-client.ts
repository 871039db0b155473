/**
 * One kept-alive connection pool to one API server, shared by every informer and writer of a
 * process: no connection or TLS handshake per call. Requests and watch streams speak JSON and
 * return plain objects; a failed call throws an ApiError whose `code` is the HTTP status (what
 * `apiStatus`, `isConflict` and `isNotFound` read).
 *
 * Built on node:http/node:https agents rather than the undici package: loading undici's index
 * costs a process about 25 MiB of RSS, Node's own HTTP client nothing more.
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { http } from '../node-http.js';
import type { ApiServerCredentials } from './credentials.js';

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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
 * Most sockets a process opens to one API server. Each open watch holds one (the controller has
 * 3 and the speaker 4, each 6 more when the metallb.io CRDs are installed; the ingress primary 5);
 * the rest carry one request each (HTTP/1.1). A burst's
 * writes (the controller keeps up to 32 status writes and 8 Event writes in flight) queue for
 * those sockets instead of opening more, so no burst costs more than this many sockets and TLS
 * handshakes, while ten or more requests still overlap their round trips.
 */
export const DEFAULT_CONNECTIONS = 16;

const idleSocketMs = 30_000;

export interface ApiClientOptions {
  /** Most connections to the server at once (DEFAULT_CONNECTIONS); each open watch holds one. */
  connections?: number;
  /** A request that has not answered in this time fails (watches are exempt). */
  requestTimeoutMs?: number;
}

export class ApiClient {
  private readonly agent: HttpAgent;
  private readonly url: URL;
  private readonly timeoutMs: number;

  constructor(
    readonly credentials: ApiServerCredentials,
    options: ApiClientOptions = {},
  ) {
    const { tls } = credentials;
    this.url = new URL(credentials.server);
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    const pool = {
      keepAlive: true,
      maxSockets: options.connections ?? DEFAULT_CONNECTIONS,
      // An idle socket is closed after 30 s, before the server would (kube-apiserver: 90 s), so a
      // request never goes out on a socket the server is closing.
      timeout: idleSocketMs,
    };
    this.agent =
      this.url.protocol === 'https:'
        ? new HttpsAgent({
            ...pool,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            rejectUnauthorized: !tls.insecureSkipTlsVerify,
            servername: tls.serverName,
          })
        : new http.Agent(pool);
  }

  /** Sockets open to the server now, busy or idle (for tests and metrics). */
  get connectedSockets(): number {
    const count = (lists: NodeJS.ReadOnlyDict<unknown[]>) =>
      Object.values(lists).reduce((sum, list) => sum + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  async request<T = unknown>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options, this.timeoutMs);
    const text = await readText(res);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFrom(status, text, method, path);
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
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFrom(status, await readText(res), 'WATCH', path);
    res.setEncoding('utf8');
    let pending = '';
    for await (const chunk of res) {
      pending += chunk as string;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim()) onEvent(JSON.parse(line));
      }
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    timeoutMs: number,
  ): Promise<IncomingMessage> {
    const query = Object.entries(options.query ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    // A server URL may carry a path prefix (an API proxy): requests go below it.
    const prefix = this.url.pathname.replace(/\/+$/, '');
    const fullPath = `${prefix}${path}${query ? `?${query}` : ''}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 0; ; attempt++) {
      const token = await this.credentials.tokens.token();
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (payload !== undefined) {
        headers['content-type'] = options.contentType ?? 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const send = this.url.protocol === 'https:' ? httpsRequest : http.request;
        const req = send(
          {
            protocol: this.url.protocol,
            hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
            port: this.url.port,
            method,
            path: fullPath,
            headers,
            agent: this.agent,
            signal: options.signal,
          },
          resolve,
        );
        req.on('error', reject);
        // A watch may stay quiet for minutes: no timeout (0 also lifts the idle one).
        req.setTimeout(timeoutMs, () =>
          req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)),
        );
        req.end(payload);
      });
      // A rotated or expired token: read it anew once before giving up.
      if (res.statusCode === 401 && attempt === 0 && token) {
        res.resume();
        this.credentials.tokens.invalidate();
        continue;
      }
      return res;
    }
  }
}

async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
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
