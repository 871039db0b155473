/**
 * The receiver: a stream parser that cuts the TCP byte stream into BGP messages (RFC 4271 §4.1),
 * checks each header (§6.1) and decodes the body. It never throws: any error, including one we
 * did not foresee, becomes a BgpError carrying the NOTIFICATION the session must send, and the
 * receiver stops parsing after it.
 */
import {
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type AfiNumber,
} from './constants.js';
import { BgpError } from './errors.js';
import type { DecodeContext } from './attributes.js';
import { decodeNotificationBody, type NotificationMessage } from './message.js';
import { decodeOpenBody, type OpenMessage } from './open.js';
import { decodeUpdateBody, type UpdateMessage } from './update.js';

export type ReceivedMessage =
  | { type: 'open'; open: OpenMessage }
  | { type: 'update'; update: UpdateMessage }
  | { type: 'notification'; notification: NotificationMessage }
  | { type: 'keepalive' }
  | { type: 'route-refresh'; afi: AfiNumber; safi: number; subtype: number };

export type ReceiveResult = ReceivedMessage | { type: 'error'; error: BgpError };

/** RFC 4271 §6.1 (and RFC 2918 §3): the smallest valid length of each message type. */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

export class Receiver {
  /** Raised to 65535 once extended messages are negotiated (RFC 8654 §4). */
  maxLength = MAX_MESSAGE_LENGTH;
  context: DecodeContext = { fourOctetAs: false, external: true };
  private pending: Buffer = Buffer.alloc(0);
  private failed = false;

  /**
   * Feeds bytes; returns every complete message (and at most one error, always last). The chunk is
   * read in place, not copied (socket chunks are never reused): do not modify it afterwards.
   */
  push(chunk: Uint8Array): ReceiveResult[] {
    if (this.failed) return [];
    const view = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = this.pending.length === 0 ? view : Buffer.concat([this.pending, view]);
    const out: ReceiveResult[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER_LENGTH) {
      const length = this.pending.readUInt16BE(at + 16);
      let result: ReceiveResult | undefined;
      try {
        const header = this.checkHeader(this.pending, at, length);
        if (header) {
          if (this.pending.length - at < length) break;
          result = this.decode(header, this.pending.subarray(at + HEADER_LENGTH, at + length));
        }
      } catch (err) {
        result = { type: 'error', error: toBgpError(err) };
      }
      if (!result) break;
      out.push(result);
      if (result.type === 'error') {
        this.failed = true;
        this.pending = Buffer.alloc(0);
        return out;
      }
      at += length;
    }
    this.pending = at === 0 ? this.pending : this.pending.subarray(at);
    return out;
  }

  private checkHeader(buf: Buffer, at: number, length: number): number {
    for (let i = 0; i < 16; i++) {
      if (buf[at + i] !== 0xff) {
        throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, 'bad marker');
      }
    }
    const type = buf[at + 18] as number;
    const min = MIN_LENGTH[type];
    if (min === undefined) {
      throw new BgpError(
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_TYPE,
        `type ${type}`,
        Uint8Array.of(type),
      );
    }
    // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 even with extended messages.
    const max =
      type === MessageType.OPEN || type === MessageType.KEEPALIVE ? MAX_MESSAGE_LENGTH : this.maxLength;
    const exact = type === MessageType.KEEPALIVE || type === MessageType.ROUTE_REFRESH;
    if (length < min || length > max || (exact && length !== min)) {
      const data = Uint8Array.of(length >> 8, length & 0xff);
      if (type === MessageType.ROUTE_REFRESH && length >= HEADER_LENGTH) {
        // RFC 7313 §5: ROUTE-REFRESH Message Error / Invalid Message Length, data = the message.
        throw new BgpError(ErrorCode.ROUTE_REFRESH, 1, `ROUTE-REFRESH length ${length}`);
      }
      throw new BgpError(
        ErrorCode.MESSAGE_HEADER,
        HeaderSubcode.BAD_MESSAGE_LENGTH,
        `length ${length}`,
        data,
      );
    }
    return type;
  }

  private decode(type: number, body: Buffer): ReceivedMessage {
    switch (type) {
      case MessageType.OPEN:
        return { type: 'open', open: decodeOpenBody(body) };
      case MessageType.UPDATE:
        return { type: 'update', update: decodeUpdateBody(body, this.context) };
      case MessageType.NOTIFICATION:
        return { type: 'notification', notification: decodeNotificationBody(body) };
      case MessageType.KEEPALIVE:
        return { type: 'keepalive' };
      default:
        return {
          type: 'route-refresh',
          afi: body.readUInt16BE(0) as AfiNumber,
          subtype: body[2] as number,
          safi: body[3] as number,
        };
    }
  }
}

function toBgpError(err: unknown): BgpError {
  if (err instanceof BgpError) return err;
  // A bug in a decoder must not take the process down; the peer still gets a well-formed reset.
  return new BgpError(
    ErrorCode.CEASE,
    0,
    `internal decoder error: ${err instanceof Error ? err.message : String(err)}`,
  );
}
