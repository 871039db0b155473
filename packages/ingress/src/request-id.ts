/**
 * The request ID (X-Request-ID), as ingress-nginx sets it: the client's value is passed on to the
 * pod when it sends one, a new random one (32 hex digits, like nginx's $request_id) otherwise. It
 * is logged with the request; like ingress-nginx, it is not added to the pod's response. Our own
 * answers (404, 502, 503, 403, redirects, 413…) carry it as X-Request-ID and log it too, so a
 * client that got an error from the proxy can quote the ID that names its access-log line.
 *
 * A client's value is kept when it is sane: 1 to 200 visible ASCII characters (so one header, no
 * spaces, nothing a log line or a pod could misread); otherwise it is replaced by a new one.
 *
 * New IDs are slices of a hex string of random bytes made 256 IDs at a time: one randomFillSync
 * and one hex encoding per 256 requests (bench/request-id.mjs measures the difference).
 */
import { randomFillSync } from 'node:crypto';
import { withoutField } from './admission.js';

const BATCH = 256;
const pool = Buffer.alloc(16 * BATCH);
/** The batch as hex: each ID is a slice of it (cheaper than hex-encoding 16 bytes each time). */
let hex = '';
let next = BATCH;

/** 32 random hex digits. */
export function newRequestId(): string {
  if (next === BATCH) {
    hex = randomFillSync(pool).toString('hex');
    next = 0;
  }
  const offset = 32 * next++;
  return hex.slice(offset, offset + 32);
}

const SANE = /^[!-~]{1,200}$/;

/** Whether a client's X-Request-ID is passed on as it is. */
export function isSaneRequestId(value: string | undefined): value is string {
  return value !== undefined && SANE.test(value);
}

/** The client's X-Request-ID when it is sane, a new one otherwise (answers of our own). */
export function requestIdOf(sent: string | undefined): string {
  return isSaneRequestId(sent) ? sent : newRequestId();
}

/**
 * The request ID for upstream `fields` ([name, value, ...], modified in place when the client's is
 * kept or absent): `sent` is the client's X-Request-ID (joined when repeated).
 */
export function requestIdFor(
  fields: string[],
  sent: string | undefined,
  /** The new ID to use if the client's is not kept (already given to an auth service). */
  chosen?: string,
): { id: string; fields: string[] } {
  if (isSaneRequestId(sent)) return { id: sent, fields };
  const id = chosen ?? newRequestId();
  const out = sent === undefined ? fields : withoutField(fields, 'x-request-id');
  out.push('x-request-id', id);
  return { id, fields: out };
}

/**
 * The request ID for a head built as text (the fast path): `line` is the field line to append
 * ('' when the client's is kept), `fields` the list without an insane client value.
 */
export function requestIdLine(
  fields: string[],
  sent: string | undefined,
): { id: string; fields: string[]; line: string } {
  if (isSaneRequestId(sent)) return { id: sent, fields, line: '' };
  const id = newRequestId();
  return {
    id,
    fields: sent === undefined ? fields : withoutField(fields, 'x-request-id'),
    line: `x-request-id: ${id}\r\n`,
  };
}
