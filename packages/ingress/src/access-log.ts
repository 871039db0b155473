/**
 * The access log's two formats (`--access-log-format`):
 *
 * - `json` (default): one pino line per request with named fields (AccessEntry);
 * - `combined`: the Apache/nginx combined log line, followed as in ingress-nginx's default
 *   `log-format-upstream` by request time, `[ingress] [service]`, upstream address, upstream
 *   header time and request ID, `-` for what is unknown:
 *
 *   `203.0.113.7 - - [07/Dec/2026:03:20:00 +0000] "GET /cart HTTP/1.1" 200 512 "-" "curl/7.88.1"
 *   0.004 [default/shop] [default/web:80] 10.0.0.7:8080 0.003 4f1c…`
 */

export type AccessLogFormat = 'json' | 'combined';

export interface AccessEntry {
  readonly method: string | undefined;
  readonly host: string | undefined;
  readonly path: string | undefined;
  readonly protocol: string | undefined;
  readonly status: number;
  readonly ingress: string;
  readonly service: string;
  readonly upstream: string | undefined;
  readonly requestId: string | undefined;
  /** Request time, ms: from the request head to the end of the response. */
  readonly ms: number;
  /** Time to the pod's response head, ms (nginx's $upstream_header_time). */
  readonly upstreamMs: number | undefined;
  /** Response body bytes sent to the client. */
  readonly bytes: number | undefined;
  readonly client: string | undefined;
  readonly peer: string | undefined;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** nginx's $time_local, in UTC: `07/Dec/2026:03:20:00 +0000`. */
export function logTime(date: Date): string {
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/** A quoted field: `"`, `\`, control and non-ASCII characters as \xHH (nginx's escape=default). */
function quoted(value: string | undefined): string {
  if (value === undefined || value === '') return '"-"';
  return `"${value.replace(/[^ !#-[\]-~]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(3));

export function combinedLine(e: AccessEntry, now = new Date()): string {
  const request = `${e.method ?? '-'} ${e.path ?? '-'} ${e.protocol ?? 'HTTP/1.1'}`;
  return (
    `${e.client || '-'} - - [${logTime(now)}] ${quoted(request)} ${e.status} ${e.bytes ?? 0} ` +
    `${quoted(e.referer)} ${quoted(e.userAgent)} ${seconds(e.ms)} [${e.ingress}] [${e.service}] ` +
    `${e.upstream ?? '-'} ${seconds(e.upstreamMs)} ${e.requestId ?? '-'}\n`
  );
}
