/** What one adversarial case is, and the small builders the case tables share. */
import type { ClientOptions, ClientResult, Endpoint, Step } from './client.js';
import type { ConnRecord, PodReply, PodRequest, PodScript } from './pods.js';
import type { Proxy } from './harness.js';
import type { ResponseStream } from './wire.js';

export interface ClientSpec {
  steps: Step[] | string;
  /** Over TLS (ALPN http/1.1) instead of plain HTTP. */
  tls?: boolean;
  servername?: string;
  /** Start together with the previous client instead of after it went quiet. */
  concurrent?: boolean;
  /** Start this many ms after the previous client started (implies concurrent). */
  startAfterMs?: number;
  options?: ClientOptions;
}

export interface RunContext {
  proxy: Proxy;
  endpoint(tls: boolean, servername?: string): Endpoint;
}

export interface Case {
  /** Unique; the class is the part before the first ':'. */
  name: string;
  /** One client (shorthand for clients: [{ steps }]). */
  send?: Step[] | string;
  clients?: ClientSpec[];
  /** A client of its own making (HTTP/2 sessions, raw frames); its results are not parsed as HTTP/1. */
  run?: (ctx: RunContext) => Promise<ClientResult[]>;
  /** All clients of the case over TLS (ALPN http/1.1). */
  tls?: boolean;
  pod?: PodScript;
  /** The pods answer as soon as a head arrived, before the body. */
  answerOnHead?: boolean;
  options?: ClientOptions;
  /**
   * Why Portico may forward what nginx did not (or hand the client bytes nginx would not): the
   * recorded reason ours is safer. Without it any such difference fails the case.
   */
  why?: string;
  /** nginx itself is known to serve a later client wrongly after this case (a race no proxy wins). */
  referenceMayFail?: string;
  /** Extra requirements on Portico's outcome (nginx's is given for reference); returns problems. */
  check?: (ours: Outcome, nginx: Outcome) => string[] | string | void;
}

export interface Outcome {
  proxy: 'portico' | 'nginx';
  clients: ClientResult[];
  /** Each HTTP/1 client's bytes split into responses (undefined for run() clients). */
  parsed: (ResponseStream | undefined)[];
  /** Whole requests the pods received during the case. */
  requests: PodRequest[];
  conns: ConnRecord[];
  /** Why the fresh client afterwards was not served correctly, if it was not. */
  fresh: string | undefined;
  crashed: boolean;
}

export type { PodReply, PodRequest };

export const get = (path: string, host = 'app.example', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

export const req = (head: string[], body = ''): string => `${head.join('\r\n')}\r\n\r\n${body}`;

/** The smuggled request most cases try to slip through: to the api pod, past the public route. */
export const SMUGGLED = 'GET /api/smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n';

/** The final (non-1xx) statuses a client got. */
export const finals = (o: Outcome, client = 0): number[] =>
  (o.parsed[client]?.responses ?? []).filter((r) => r.status >= 200).map((r) => r.status);

export const podTargets = (o: Outcome): string[] => o.requests.map((r) => `${r.pod} ${r.method} ${r.target}`);
