/**
 * The one upstream policy: what a failed trip to a pod means, the same on every data plane (the
 * fast path, http1/exchange.ts; the Node path, node-exchange.ts; HTTP/2 to pods, h2-exchange.ts).
 * A data plane describes the failure (the error's code, whether any of the response had arrived,
 * whether the connection had carried an earlier exchange) and gets a verdict: retry or not and
 * where, eject the endpoint or not, which status the client gets, which reason label
 * portico_ingress_upstream_errors_total counts.
 *
 * | failure                                        | retry (see below)  | eject | status | reason   |
 * | ---------------------------------------------- | ------------------ | ----- | ------ | -------- |
 * | connect refused, host or network unreachable   | another endpoint   | yes   | 502    | connect  |
 * | connect timeout                                | another endpoint   | yes   | 504    | timeout  |
 * | reset or closed before any response byte       | another endpoint   | yes   | 502    | reset    |
 * | the same on a reused keep-alive connection     | fresh connection   | no    | 502    | (reset)  |
 * | reset or closed after response bytes           | never: client cut  | yes   | (cut)  | reset    |
 * | read timeout (response head, or between reads) | never              | no    | 504    | timeout  |
 * | TLS to the pod failed                          | never              | no    | 502    | tls      |
 * | malformed response (head or framing)           | never              | no    | 502    | protocol |
 * | anything else                                  | never              | no    | 502    | other    |
 *
 * Why these, with nginx's defaults as the reference (proxy_next_upstream `error timeout`, and
 * max_fails counting what proxy_next_upstream names):
 * - A retry only for an idempotent method without a body (RFC 9110 §9.2.2; nginx does not retry a
 *   non-idempotent request either), at most once per request, and only while nothing of the
 *   response has reached the client. `error` in nginx covers a connection that fails while
 *   connecting, sending or waiting for the head: connect errors and resets before any response byte.
 * - A reused keep-alive connection that dies before any response byte most likely raced the pod's
 *   own idle close: not the pod failing, so no ejection, and one retry on a fresh connection (any
 *   endpoint). Counted (as reset) only when it reaches the client as a 502.
 * - A read timeout is not retried (nginx's `timeout` would, but a head that takes the whole read
 *   timeout is usually the request's own work, and sending it again doubles the wait and the work)
 *   and ejects nothing: a busy pod is not a dead one. A connect timeout is a connect error.
 * - A pod that answers, however badly (a malformed head, TLS it cannot finish), is up: nginx's
 *   default does not count invalid_header either. The request may have done its work: no retry.
 */

/** The `reason` label of portico_ingress_upstream_errors_total. */
export type UpstreamErrorReason = 'connect' | 'reset' | 'timeout' | 'tls' | 'protocol' | 'other';

/** A failed attempt, as a data plane saw it. */
export interface FailedAttempt {
  /** The error's code (errorCode()): Node's, undici's, or ours (UPSTREAM_BAD_RESPONSE). */
  readonly code: string;
  /** Part of the response had arrived (at least its head was being read). */
  readonly responded: boolean;
  /** The connection had carried an earlier exchange (a reused keep-alive connection). */
  readonly reused: boolean;
}

/** What of the request decides whether it may be sent again. */
export interface RetryScope {
  readonly method: string | undefined;
  readonly hasBody: boolean;
  /** This request was retried once already. */
  readonly retried: boolean;
  /** How many endpoints the backend has. */
  readonly endpoints: number;
}

export interface Verdict {
  /** `another-endpoint`: avoid the one that failed; `fresh-connection`: any endpoint, a new connection. */
  readonly retry: 'none' | 'another-endpoint' | 'fresh-connection';
  /** Count the failure against the endpoint (balancer.ts ejects after enough in a row). */
  readonly eject: boolean;
  /** What the client gets when the request is not retried and nothing was sent to it yet. */
  readonly status: 502 | 504;
  /** The metric's reason label; undefined: not counted (a stale connection that is retried). */
  readonly reason: UpstreamErrorReason | undefined;
}

/** The code our data planes give a response they cannot parse (head or framing). */
export const BAD_RESPONSE = 'UPSTREAM_BAD_RESPONSE';

const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** HTTP/2: the pod reset the stream (RST_STREAM) or the session (GOAWAY, or it failed). */
const RESET = new Set([
  'ECONNRESET',
  'UND_ERR_SOCKET',
  'EPIPE',
  'UND_ERR_CLOSED',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The pod's certificate was refused (backend-protocol HTTPS/GRPCS with proxy-ssl-verify), or TLS failed. */
const TLS = /^(?:ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/;
/** undici's HTTP parser (llhttp) codes, and ours: the pod's response broke HTTP. */
const PROTOCOL = /^(?:HPE_|UND_ERR_INFO$|UND_ERR_RES_|UPSTREAM_BAD_RESPONSE$)/;

export function errorCode(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code !== undefined) return code;
  // undici's parser error has a code only when llhttp named one ("Invalid status code" has none).
  return err.name === 'HTTPParserError' ? BAD_RESPONSE : '';
}

/** The metric reason of an error code alone. */
export function errorReason(code: string): UpstreamErrorReason {
  if (TIMEOUT.has(code)) return 'timeout';
  if (CONNECT.has(code)) return 'connect';
  if (RESET.has(code)) return 'reset';
  if (TLS.test(code)) return 'tls';
  if (PROTOCOL.test(code)) return 'protocol';
  return 'other';
}

/** Methods whose request may be sent again after a failure that left no response (RFC 9110 §9.2.2). */
export function isIdempotentRetry(method: string | undefined): boolean {
  return method !== undefined && IDEMPOTENT.has(method);
}

/** The verdict on one failed attempt (the table above). */
export function judge(attempt: FailedAttempt, scope: RetryScope): Verdict {
  const { code, responded } = attempt;
  const reason = errorReason(code);
  const status = TIMEOUT.has(code) ? 504 : 502;
  const mayRetry = !responded && !scope.retried && !scope.hasBody && isIdempotentRetry(scope.method);
  const connect = CONNECT.has(code);
  const reset = RESET.has(code);
  if (reset && attempt.reused && !responded) {
    const retry = mayRetry ? 'fresh-connection' : 'none';
    return { retry, eject: false, status, reason: retry === 'none' ? 'reset' : undefined };
  }
  const retry = (connect || reset) && mayRetry && scope.endpoints > 1 ? 'another-endpoint' : 'none';
  return { retry, eject: connect || reset, status, reason };
}
