/**
 * Response bandwidth, as ingress-nginx's `limit-rate` and `limit-rate-after` (nginx's limit_rate and
 * limit_rate_after, which ingress-nginx writes with a `k` suffix):
 *
 * - `limit-rate`: kilobytes (1024 bytes) per second at which the response body is sent, per
 *   request (a client with two requests in flight gets twice the rate, as with nginx); 0 or absent:
 *   no limit.
 * - `limit-rate-after`: kilobytes of the body sent at full speed before the limit applies.
 *
 * The arithmetic is nginx's: after `limit-rate-after`, the body may be `rate × (seconds since the
 * response began + 1)` ahead, so the first second's worth goes out at once. Applied where the
 * response body is relayed from an HTTP/1 pod (response-rate.ts). gRPC streams and WebSocket
 * tunnels are not paced, as nginx does not: its limit_rate is in the HTTP write filter, which
 * upgraded connections bypass, and grpc_pass is unbuffered, where nginx sets limit_rate to 0.
 */
import type { AnnotationFamily } from './family.js';

export interface ResponseRatePolicy {
  readonly bytesPerSecond: number;
  /** Body bytes sent before the limit applies. */
  readonly after: number;
}

export interface ResponseRateChoice {
  readonly responseRate?: ResponseRatePolicy;
}

/** Kilobytes as nginx's size syntax without unit: a whole number, at most 1 TiB. */
const kilobytes = (v: string): number | undefined =>
  /^\d{1,10}$/.test(v) && Number(v) <= 1024 ** 3 ? Number(v) * 1024 : undefined;

export const responseRateAnnotations: AnnotationFamily<ResponseRateChoice> = {
  names: ['limit-rate', 'limit-rate-after'],
  read(reader) {
    const expected = 'a whole number of kilobytes';
    const rate = reader.read('limit-rate', kilobytes, expected) ?? 0;
    const after = reader.read('limit-rate-after', kilobytes, expected) ?? 0;
    return rate === 0 ? {} : { responseRate: { bytesPerSecond: rate, after } };
  },
};
