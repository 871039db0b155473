/**
 * Per-Ingress timeouts and body size towards the pods, read as ingress-nginx reads them:
 *
 * - `proxy-connect-timeout` (default 5): seconds to establish a connection to a pod (nginx
 *   proxy_connect_timeout); expiry is a failed connection: another endpoint for a retryable
 *   request, else 504.
 * - `proxy-read-timeout` (default 60): seconds between two reads from the pod, the wait for the
 *   response head included (proxy_read_timeout); 504 before the head, the connection cut after it.
 * - `proxy-send-timeout` (default 60): seconds between two writes of the request to the pod
 *   (proxy_send_timeout): a pod that stops reading the body for that long gets its connection
 *   closed and the client a 504.
 * - `proxy-body-size` (default 1m): the largest request body, nginx's size syntax (bytes, or a
 *   number with k, m or g: 1024-based); above it 413; `0` means unlimited (client_max_body_size 0).
 *
 * ingress-nginx documents the timeouts as unitless whole seconds ("120", never "120s") and parses
 * them with Go's Atoi; we take the same digits, and refuse zero (nginx would time out at once).
 */
import type { AnnotationFamily } from './family.js';

export interface ProxyLimitsChoice {
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly sendTimeoutMs?: number;
  /** proxy-body-size in bytes; 0 is unlimited. */
  readonly maxBodyBytes?: number;
}

/** The longest timeout a Node timer can hold (2^31-1 ms), in whole seconds. */
const MAX_SECONDS = Math.floor(0x7fffffff / 1000);

/** A positive whole number of seconds (ingress-nginx: unitless), in ms. */
export function parseSeconds(value: string): number | undefined {
  if (!/^\+?\d{1,10}$/.test(value.trim())) return undefined;
  const s = Number(value.trim());
  return s >= 1 && s <= MAX_SECONDS ? s * 1000 : undefined;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx's size syntax (ngx_parse_offset): digits with an optional k, m or g, either case. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d{1,15})([kKmMgG]?)$/.exec(value.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const SECONDS = `a whole number of seconds from 1 to ${MAX_SECONDS}, without unit (e.g. "120")`;

export const proxyLimitsAnnotations: AnnotationFamily<ProxyLimitsChoice> = {
  names: ['proxy-connect-timeout', 'proxy-read-timeout', 'proxy-send-timeout', 'proxy-body-size'],
  read(reader) {
    const choice: {
      connectTimeoutMs?: number;
      readTimeoutMs?: number;
      sendTimeoutMs?: number;
      maxBodyBytes?: number;
    } = {};
    const connect = reader.read('proxy-connect-timeout', parseSeconds, SECONDS);
    if (connect !== undefined) choice.connectTimeoutMs = connect;
    const read = reader.read('proxy-read-timeout', parseSeconds, SECONDS);
    if (read !== undefined) choice.readTimeoutMs = read;
    const send = reader.read('proxy-send-timeout', parseSeconds, SECONDS);
    if (send !== undefined) choice.sendTimeoutMs = send;
    const size = reader.read(
      'proxy-body-size',
      parseSize,
      'a size in bytes with an optional k, m or g (e.g. "8m"), or "0" for unlimited',
    );
    if (size !== undefined) choice.maxBodyBytes = size;
    return choice;
  },
};

/** The body limit of a route: its annotation, else the proxy's default; Infinity when unlimited. */
export function bodyLimitOf(target: ProxyLimitsChoice | undefined, fallback: number): number {
  const max = target?.maxBodyBytes ?? fallback;
  return max === 0 ? Infinity : max;
}
