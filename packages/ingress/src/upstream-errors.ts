/**
 * How a failed trip to a pod is classified, the same in both data planes: whether the request
 * never reached the pod (safe to retry elsewhere), whether the pod counts as failing (ejection),
 * and the `reason` label of portico_ingress_upstream_errors_total.
 */
const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const RESET = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export type UpstreamErrorReason = 'connect' | 'reset' | 'timeout' | 'tls' | 'other';

/** The pod's certificate was refused (backend-protocol HTTPS/GRPCS with proxy-ssl-verify), or TLS failed. */
const TLS = /^(?:ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/;

export function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? '';
}

/** The connection to the pod failed: the request was never sent. */
export function isConnectError(code: string): boolean {
  return CONNECT.has(code);
}

export function isResetError(code: string): boolean {
  return RESET.has(code);
}

export function isTimeoutError(code: string): boolean {
  return TIMEOUT.has(code);
}

/** `fallback`: the label of an error with none of the known codes. */
export function errorReason(code: string, fallback: UpstreamErrorReason): UpstreamErrorReason {
  if (TIMEOUT.has(code)) return 'timeout';
  if (CONNECT.has(code)) return 'connect';
  if (RESET.has(code)) return 'reset';
  if (TLS.test(code)) return 'tls';
  return fallback;
}

/** Methods whose request may be sent again after a failure that left no response (RFC 9110 §9.2.2). */
export function isIdempotentRetry(method: string | undefined): boolean {
  return method !== undefined && IDEMPOTENT.has(method);
}
