/** UPDATE message body (RFC 4271 §4.3) decoding, with RFC 7606 error handling and End-of-RIB (RFC 4724 §2). */
import { Afi, ErrorCode, UpdateSubcode } from './constants.js';
import { BgpError } from './errors.js';
import { type DecodeContext, decodeAttributes, type PathAttributes } from './attributes.js';
import type { AfiSafi } from './capabilities.js';
import { type Prefix, readPrefixes } from './prefix.js';

export interface UpdateMessage {
  /** Classic IPv4 withdrawn routes. */
  withdrawn: Prefix[];
  attributes: PathAttributes;
  /** Classic IPv4 NLRI. */
  nlri: Prefix[];
  /** Set when RFC 7606 says the routes of this UPDATE must be treated as withdrawn. */
  treatAsWithdraw?: string;
  /** Set when this UPDATE is an End-of-RIB marker. */
  endOfRib?: AfiSafi;
  discarded: number[];
}

/** Decodes an UPDATE body; throws BgpError only where RFC 7606 requires a session reset. */
export function decodeUpdateBody(body: Uint8Array, ctx: DecodeContext): UpdateMessage {
  const malformedList = () =>
    new BgpError(
      ErrorCode.UPDATE_MESSAGE,
      UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
      'inconsistent UPDATE lengths',
    );
  if (body.length < 4) throw malformedList();
  const withdrawnLen = ((body[0] as number) << 8) | (body[1] as number);
  // RFC 4271 §6.3: withdrawn length + attribute length + 23 must not exceed the message length.
  if (2 + withdrawnLen + 2 > body.length) throw malformedList();
  const attrLenAt = 2 + withdrawnLen;
  const attrLen = ((body[attrLenAt] as number) << 8) | (body[attrLenAt + 1] as number);
  const attrStart = attrLenAt + 2;
  const attrEnd = attrStart + attrLen;
  if (attrEnd > body.length) throw malformedList();
  const withdrawn = readPrefixes(body, 2, 2 + withdrawnLen, Afi.IPV4);
  const nlri = readPrefixes(body, attrEnd, body.length, Afi.IPV4);
  const decoded = decodeAttributes(body, attrStart, attrEnd, nlri.length > 0, ctx);
  const update: UpdateMessage = {
    withdrawn,
    attributes: decoded.attributes,
    nlri,
    discarded: decoded.discarded,
  };
  if (decoded.treatAsWithdraw) update.treatAsWithdraw = decoded.treatAsWithdraw;
  if (body.length === 4) update.endOfRib = { afi: Afi.IPV4, safi: 1 };
  const a = decoded.attributes;
  const onlyUnreach =
    a.mpUnreach &&
    a.mpUnreach.withdrawn.length === 0 &&
    Object.keys(a).length === 1 &&
    withdrawn.length === 0;
  if (onlyUnreach && nlri.length === 0 && a.mpUnreach)
    update.endOfRib = { afi: a.mpUnreach.afi, safi: a.mpUnreach.safi };
  return update;
}
