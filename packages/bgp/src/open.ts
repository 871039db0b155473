/** OPEN message body (RFC 4271 §4.2) with capabilities in optional parameter 2 (RFC 5492 §4). */
import { AS_TRANS, BGP_VERSION, ErrorCode, OpenSubcode } from './constants.js';
import { BgpError } from './errors.js';
import {
  type Capabilities,
  decodeCapabilities,
  emptyCapabilities,
  encodeCapabilities,
} from './capabilities.js';
import { formatAddressBytes } from '@portico/net';
import { addressOctets } from './prefix.js';

const CAPABILITIES_PARAMETER = 2;

export interface OpenMessage {
  version: number;
  /** The 2-octet "My Autonomous System" field: AS_TRANS when the real AS does not fit (RFC 6793 §4.1). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier in dotted-quad form. */
  bgpId: string;
  capabilities: Capabilities;
}

/** The AS a peer really has: the 4-octet capability when present (RFC 6793 §4.1). */
export function peerAs(open: OpenMessage): number {
  return open.capabilities.fourOctetAs ?? open.myAs;
}

export function encodeOpenBody(asn: number, holdTime: number, bgpId: string, caps: Capabilities): Uint8Array {
  const tlvs = encodeCapabilities(caps);
  // One optional parameter per capability keeps each under 255 octets whatever we advertise.
  const params = tlvs.map((tlv) => {
    const p = new Uint8Array(2 + tlv.length);
    p[0] = CAPABILITIES_PARAMETER;
    p[1] = tlv.length;
    p.set(tlv, 2);
    return p;
  });
  const optLen = params.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(10 + optLen);
  const view = new DataView(out.buffer);
  out[0] = BGP_VERSION;
  view.setUint16(1, asn > 0xffff ? AS_TRANS : asn);
  view.setUint16(3, holdTime);
  out.set(addressOctets(bgpId, 'IPv4'), 5);
  out[9] = optLen;
  let at = 10;
  for (const p of params) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 4271 §6.2 checks that need no session context. */
export function decodeOpenBody(body: Uint8Array): OpenMessage {
  if (body.length < 10) {
    throw new BgpError(ErrorCode.MESSAGE_HEADER, 2, 'OPEN too short', u16(19 + body.length));
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = body[0] as number;
  if (version !== BGP_VERSION) {
    // RFC 4271 §6.2: the data field carries the largest version we support.
    throw new BgpError(
      ErrorCode.OPEN_MESSAGE,
      OpenSubcode.UNSUPPORTED_VERSION,
      `version ${version}`,
      u16(BGP_VERSION),
    );
  }
  const myAs = view.getUint16(1);
  const holdTime = view.getUint16(3);
  if (holdTime === 1 || holdTime === 2) {
    throw new BgpError(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime}`);
  }
  const bgpId = formatAddressBytes(body.subarray(5, 9));
  if (bgpId === '0.0.0.0')
    throw new BgpError(ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_BGP_IDENTIFIER, 'zero BGP id');
  const optLen = body[9] as number;
  if (10 + optLen !== body.length)
    throw new BgpError(ErrorCode.OPEN_MESSAGE, 0, 'optional parameters length');
  const capabilities = emptyCapabilities();
  let at = 10;
  while (at < body.length) {
    if (at + 2 > body.length) throw new BgpError(ErrorCode.OPEN_MESSAGE, 0, 'truncated optional parameter');
    const type = body[at] as number;
    const len = body[at + 1] as number;
    if (at + 2 + len > body.length)
      throw new BgpError(ErrorCode.OPEN_MESSAGE, 0, 'optional parameter length');
    if (type !== CAPABILITIES_PARAMETER) {
      throw new BgpError(
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
        `parameter ${type}`,
      );
    }
    decodeCapabilities(body.subarray(at + 2, at + 2 + len), capabilities);
    at += 2 + len;
  }
  return { version, myAs, holdTime, bgpId, capabilities };
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}
