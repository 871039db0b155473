/**
 * The connections forward auth (forward-auth.ts) sends its subrequests on, with undici (loaded on
 * first use: lazy-undici.ts).
 *
 * - No `auth-keepalive*` annotation: Portico's default pool, an undici Agent whose connections are
 *   kept while idle up to 4 s.
 * - `auth-keepalive: 0` (or keep-alive turned off by a bad value): a new connection per
 *   subrequest, closed after it, as nginx without an upstream `keepalive`.
 * - `auth-keepalive: N`: nginx's upstream keep-alive, per auth service origin. Any number of
 *   connections are opened while subrequests run at once; when one is done it is kept only if
 *   fewer than N are idle (else closed), it is closed after `auth-keepalive-requests` subrequests,
 *   and after `auth-keepalive-timeout` seconds idle (undici's keepAliveTimeout; shorter when the
 *   auth service's `Keep-Alive: timeout` says so). Each connection is an undici Client of its own,
 *   so this file decides which stay.
 */
import type { Client, Dispatcher } from 'undici';
import { undici } from './lazy-undici.js';
import type { AuthKeepalive } from './annotations/index.js';

/** Idle time of Portico's default pool. */
const DEFAULT_IDLE_MS = 4_000;

export interface AuthAnswerHead {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

export class AuthConnections {
  /** Made at the first subrequest: most proxies have no auth-url route. */
  private agentMade: Dispatcher | undefined;
  /** Kept connections per origin and keep-alive setting. */
  private readonly kept = new Map<string, KeptConnections>();

  constructor(
    private readonly connectTimeoutMs: number,
    /** Called for each connection opened to an auth service (a metric). */
    private readonly onConnection: () => void = () => undefined,
  ) {}

  private get agent(): Dispatcher {
    if (this.agentMade === undefined) {
      this.agentMade = new (undici().Agent)({
        connect: { timeout: this.connectTimeoutMs },
        keepAliveTimeout: DEFAULT_IDLE_MS,
      });
      this.agentMade.on('connect', this.onConnection);
    }
    return this.agentMade;
  }

  /**
   * Sends one subrequest without a body and reads the whole answer; rejects when the connection
   * fails or `timeoutMs` passes first.
   */
  async request(
    url: URL,
    method: string,
    headers: string[],
    keepalive: AuthKeepalive | undefined,
    timeoutMs: number,
  ): Promise<AuthAnswerHead> {
    const options: Dispatcher.RequestOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method: method as Dispatcher.HttpMethod,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      // auth-keepalive: 0: the connection closes after this subrequest.
      reset: keepalive?.connections === 0,
    };
    if (keepalive === undefined || keepalive.connections === 0) return answer(this.agent, options);
    const key = keptKey(url.origin, keepalive);
    let kept = this.kept.get(key);
    if (kept === undefined)
      this.kept.set(
        key,
        (kept = new KeptConnections(url.origin, keepalive, this.connectTimeoutMs, this.onConnection)),
      );
    return kept.request(options);
  }

  /** How many origins (and keep-alive settings) have kept connections. */
  get origins(): number {
    return this.kept.size;
  }

  /**
   * Drops the kept connections of every origin and setting not in `live` (keys of keptKey()): the
   * routes that named them left the table. Idle ones close now, busy ones when their subrequest ends.
   */
  retain(live: ReadonlySet<string>): void {
    for (const [key, kept] of this.kept)
      if (!live.has(key)) {
        this.kept.delete(key);
        void kept.close();
      }
  }

  close(): Promise<void> {
    const closing = [...this.kept.values()].map((k) => k.close());
    this.kept.clear();
    if (this.agentMade !== undefined) closing.push(this.agentMade.close());
    return Promise.all(closing).then(() => undefined);
  }
}

/** What the kept connections of an auth service origin with one keep-alive setting are found by. */
export function keptKey(origin: string, keepalive: AuthKeepalive): string {
  return `${origin} ${keepalive.connections}/${keepalive.requests}/${keepalive.timeoutSeconds}`;
}

async function answer(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<AuthAnswerHead> {
  const res = await dispatcher.request(options);
  await res.body.dump();
  return { status: res.statusCode, headers: res.headers };
}

/** nginx's upstream keep-alive for one auth service origin: each connection an undici Client. */
class KeptConnections {
  /** Connections idle now, the most recently used last (nginx reuses the most recent first). */
  private idle: Client[] = [];
  /** Subrequests each connection has served. */
  private readonly served = new WeakMap<Client, number>();
  /** Dropped (close()): connections busy then are closed when their subrequest ends, not kept. */
  private closed = false;

  constructor(
    private readonly origin: string,
    private readonly keepalive: AuthKeepalive,
    private readonly connectTimeoutMs: number,
    private readonly onConnection: () => void,
  ) {}

  async request(options: Dispatcher.RequestOptions): Promise<AuthAnswerHead> {
    const client = this.idle.pop() ?? this.open();
    let ok = false;
    try {
      const head = await answer(client, options);
      ok = true;
      return head;
    } finally {
      this.release(client, ok);
    }
  }

  private open(): Client {
    const ms = this.keepalive.timeoutSeconds * 1000;
    const client = new (undici().Client)(this.origin, {
      connect: { timeout: this.connectTimeoutMs },
      keepAliveTimeout: ms,
      keepAliveMaxTimeout: ms,
      pipelining: 1,
    });
    client.on('connect', this.onConnection);
    // Closed while idle (keepalive_timeout, or by the auth service): no longer a kept connection.
    client.on('disconnect', () => {
      const at = this.idle.indexOf(client);
      if (at !== -1) {
        this.idle.splice(at, 1);
        void client.close();
      }
    });
    return client;
  }

  /** Keeps the connection if it may serve more and fewer than `connections` are idle; else closes it. */
  private release(client: Client, ok: boolean): void {
    const served = (this.served.get(client) ?? 0) + 1;
    this.served.set(client, served);
    const keep =
      ok &&
      !this.closed &&
      !client.closed &&
      !client.destroyed &&
      served < this.keepalive.requests &&
      this.idle.length < this.keepalive.connections;
    if (keep) this.idle.push(client);
    else void client.close().catch(() => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    const idle = this.idle;
    this.idle = [];
    return Promise.all(idle.map((c) => c.close().catch(() => undefined))).then(() => undefined);
  }
}
