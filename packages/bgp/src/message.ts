/**
 * The message header (RFC 4271 §4.1) and the small fixed-format messages: KEEPALIVE (§4.4),
 * NOTIFICATION (§4.5) and ROUTE-REFRESH (RFC 2918 §3).
 */
import { type AfiNumber, HEADER_LENGTH, MessageType } from './constants.js';

/** Frames a message body: 16 octets of ones, the total length, the type. */
export function encodeMessage(type: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  out.fill(0xff, 0, 16);
  out.writeUInt16BE(HEADER_LENGTH + body.length, 16);
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

export function encodeKeepalive(): Buffer {
  return encodeMessage(MessageType.KEEPALIVE, new Uint8Array(0));
}

export interface NotificationMessage {
  code: number;
  subcode: number;
  data: Uint8Array;
}

export function encodeNotification(
  code: number,
  subcode: number,
  data: Uint8Array = new Uint8Array(0),
): Buffer {
  const body = new Uint8Array(2 + data.length);
  body[0] = code;
  body[1] = subcode;
  body.set(data, 2);
  return encodeMessage(MessageType.NOTIFICATION, body);
}

export function decodeNotificationBody(body: Uint8Array): NotificationMessage {
  return { code: body[0] ?? 0, subcode: body[1] ?? 0, data: body.slice(2) };
}

/** RFC 4486 §4 / RFC 8203: a Cease for administrative shutdown or reset may carry a UTF-8 reason. */
export function shutdownCommunication(reason: string): Uint8Array {
  const text = Buffer.from(reason, 'utf8').subarray(0, 255);
  const out = new Uint8Array(1 + text.length);
  out[0] = text.length;
  out.set(text, 1);
  return out;
}

export interface RouteRefreshMessage {
  afi: AfiNumber;
  safi: number;
}

export function encodeRouteRefresh(afi: AfiNumber, safi: number): Buffer {
  return encodeMessage(MessageType.ROUTE_REFRESH, Uint8Array.of(afi >> 8, afi & 0xff, 0, safi));
}

const NAMES: Record<string, string> = {
  '1': 'Message Header Error',
  '2': 'OPEN Message Error',
  '3': 'UPDATE Message Error',
  '4': 'Hold Timer Expired',
  '5': 'Finite State Machine Error',
  '6': 'Cease',
  '7': 'ROUTE-REFRESH Message Error',
  '6/1': 'Maximum Number of Prefixes Reached',
  '6/2': 'Administrative Shutdown',
  '6/3': 'Peer De-configured',
  '6/4': 'Administrative Reset',
  '6/5': 'Connection Rejected',
  '6/6': 'Other Configuration Change',
  '6/7': 'Connection Collision Resolution',
  '6/8': 'Out of Resources',
  '6/9': 'Hard Reset',
  '6/10': 'BFD Down',
  '2/1': 'Unsupported Version Number',
  '2/2': 'Bad Peer AS',
  '2/3': 'Bad BGP Identifier',
  '2/4': 'Unsupported Optional Parameter',
  '2/6': 'Unacceptable Hold Time',
  '2/7': 'Unsupported Capability',
  '1/1': 'Connection Not Synchronized',
  '1/2': 'Bad Message Length',
  '1/3': 'Bad Message Type',
  '3/1': 'Malformed Attribute List',
  '3/2': 'Unrecognized Well-known Attribute',
  '3/3': 'Missing Well-known Attribute',
  '3/4': 'Attribute Flags Error',
  '3/5': 'Attribute Length Error',
  '3/6': 'Invalid ORIGIN Attribute',
  '3/8': 'Invalid NEXT_HOP Attribute',
  '3/9': 'Optional Attribute Error',
  '3/10': 'Invalid Network Field',
  '3/11': 'Malformed AS_PATH',
};

/** Human-readable "Cease/Administrative Shutdown (6/2)" for logs and the CLI. */
export function describeNotification(code: number, subcode: number): string {
  const major = NAMES[String(code)] ?? `code ${code}`;
  const minor = NAMES[`${code}/${subcode}`];
  return `${major}${minor ? `/${minor}` : ''} (${code}/${subcode})`;
}
