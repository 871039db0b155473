/**
 * The connections forward auth (forward-auth.ts) sends its subrequests on: one Node http(s) Agent
 * per keep-alive setting, each keeping its connections per auth service host and port.
 *
 * - No `auth-keepalive*` annotation: Portico's default pool, connections kept while idle up to 4 s.
 * - `auth-keepalive: 0` (or keep-alive turned off by a bad value): a new connection per
 *   subrequest, closed after it, as nginx without an upstream `keepalive`.
 * - `auth-keepalive: N`: nginx's upstream keep-alive. Any number of connections are opened while
 *   subrequests run at once; when one is done, at most N idle connections are kept (the rest are
 *   closed), each is closed after `auth-keepalive-requests` subrequests and after
 *   `auth-keepalive-timeout` seconds idle. Node's Agent does the first and the last
 *   (`maxFreeSockets`, `timeout`); keepSocketAlive() counts the subrequests.
 *
 * node:http and node:https are loaded with require() (node-http.ts says why), https on first use.
 */
import { createRequire } from 'node:module';
import type * as NodeHttps from 'node:https';
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { http } from './node-http.js';
import type { AuthKeepalive } from './annotations/index.js';

const require = createRequire(import.meta.url);
let https: typeof NodeHttps | undefined;

/** Idle time of Portico's default pool. */
const DEFAULT_IDLE_MS = 4_000;

export interface AuthAnswerHead {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export class AuthConnections {
  private readonly agents = new Map<string, Agent>();

  /** Sockets and the subrequests each has served, for `auth-keepalive-requests`. */
  private readonly served = new WeakMap<Socket, number>();

  constructor(private readonly onConnection: () => void = () => undefined) {}

  /**
   * Sends one subrequest without a body and reads the whole answer; rejects when the connection
   * fails or `timeoutMs` passes first.
   */
  request(
    url: URL,
    method: string,
    headers: string[],
    keepalive: AuthKeepalive | undefined,
    timeoutMs: number,
  ): Promise<AuthAnswerHead> {
    const secure = url.protocol === 'https:';
    const agent = this.agentFor(secure, keepalive);
    const module = secure ? (https ??= require('node:https') as typeof NodeHttps) : http;
    return new Promise((resolve, reject) => {
      const req = module.request(
        url,
        // An array of headers is sent as it is: Node adds no Host of its own then.
        { method, agent, headers: ['host', url.host, ...headers], signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          res.resume();
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  private agentFor(secure: boolean, keepalive: AuthKeepalive | undefined): Agent {
    const key = `${secure ? 's' : ''}${keepalive ? `${keepalive.connections}/${keepalive.requests}/${keepalive.timeoutSeconds}` : ''}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = this.makeAgent(secure, keepalive);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private makeAgent(secure: boolean, keepalive: AuthKeepalive | undefined): Agent {
    const Base = secure ? (https ??= require('node:https') as typeof NodeHttps).Agent : http.Agent;
    const served = this.served;
    const limit = keepalive?.requests ?? Infinity;
    const opened = this.onConnection;
    class AuthAgent extends (Base as typeof http.Agent) {
      override createConnection(
        ...args: Parameters<Agent['createConnection']>
      ): ReturnType<Agent['createConnection']> {
        opened();
        return super.createConnection(...args);
      }
      override keepSocketAlive(socket: Socket): boolean {
        const count = (served.get(socket) ?? 0) + 1;
        served.set(socket, count);
        if (count >= limit) return false;
        // Node's own answer (typed void): false when the server's Keep-Alive hint says to close.
        return (super.keepSocketAlive(socket) as unknown) !== false;
      }
    }
    if (keepalive === undefined) return new AuthAgent({ keepAlive: true, timeout: DEFAULT_IDLE_MS });
    if (keepalive.connections === 0) return new AuthAgent({ keepAlive: false });
    return new AuthAgent({
      keepAlive: true,
      maxFreeSockets: keepalive.connections,
      timeout: keepalive.timeoutSeconds * 1000,
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
