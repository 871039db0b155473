/**
 * Capabilities advertisement (RFC 5492): each capability is a code, a length and a value inside
 * OPEN optional parameter 2. This file encodes and decodes the ones we speak; unknown ones are kept
 * as raw bytes so negotiation can ignore them (RFC 5492 §3: a speaker ignores what it does not know).
 */
import { type AfiNumber, CapabilityCode, ErrorCode } from './constants.js';
import { BgpError } from './errors.js';

export interface AfiSafi {
  afi: AfiNumber;
  safi: number;
}

export interface GracefulRestartCapability {
  /** R bit (RFC 4724 §3): the sender has restarted and is about to resend its routes. */
  restarting: boolean;
  /** N bit (RFC 8538 §2): graceful restart also covers NOTIFICATIONs. Only carried, we never set it. */
  notification: boolean;
  /** Seconds the peer should keep our routes after the session drops (12 bits). */
  restartTime: number;
  /** Families whose forwarding state the sender preserved (F bit). */
  families: (AfiSafi & { forwarding: boolean })[];
}

export interface Capabilities {
  multiprotocol: AfiSafi[];
  routeRefresh: boolean;
  /** RFC 6793: the sender's real AS number when it speaks 4-octet AS numbers. */
  fourOctetAs?: number;
  extendedMessage: boolean;
  /** RFC 8950: NLRI of `afi` may carry a next hop of `nextHopAfi`. */
  extendedNextHop: (AfiSafi & { nextHopAfi: AfiNumber })[];
  gracefulRestart?: GracefulRestartCapability;
  unknown: { code: number; value: Uint8Array }[];
}

export function emptyCapabilities(): Capabilities {
  return { multiprotocol: [], routeRefresh: false, extendedMessage: false, extendedNextHop: [], unknown: [] };
}

function capability(code: number, value: number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + value.length);
  out[0] = code;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}

/** Encodes every capability as its own TLV; the caller wraps them in optional parameters. */
export function encodeCapabilities(caps: Capabilities): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const { afi, safi } of caps.multiprotocol) {
    out.push(capability(CapabilityCode.MULTIPROTOCOL, [afi >> 8, afi & 0xff, 0, safi])); // RFC 4760 §8
  }
  if (caps.routeRefresh) out.push(capability(CapabilityCode.ROUTE_REFRESH, []));
  if (caps.extendedNextHop.length > 0) {
    const v: number[] = [];
    for (const e of caps.extendedNextHop)
      v.push(e.afi >> 8, e.afi & 0xff, e.safi >> 8, e.safi & 0xff, e.nextHopAfi >> 8, e.nextHopAfi & 0xff);
    out.push(capability(CapabilityCode.EXTENDED_NEXT_HOP, v));
  }
  if (caps.extendedMessage) out.push(capability(CapabilityCode.EXTENDED_MESSAGE, []));
  const gr = caps.gracefulRestart;
  if (gr) {
    const flags = (gr.restarting ? 0x8 : 0) | (gr.notification ? 0x4 : 0);
    const v = [(flags << 4) | ((gr.restartTime >> 8) & 0x0f), gr.restartTime & 0xff];
    for (const f of gr.families) v.push(f.afi >> 8, f.afi & 0xff, f.safi, f.forwarding ? 0x80 : 0);
    out.push(capability(CapabilityCode.GRACEFUL_RESTART, v));
  }
  if (caps.fourOctetAs !== undefined) {
    const a = caps.fourOctetAs;
    out.push(
      capability(CapabilityCode.FOUR_OCTET_AS, [a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]),
    );
  }
  for (const u of caps.unknown) out.push(capability(u.code, u.value));
  return out;
}

function malformed(what: string): BgpError {
  return new BgpError(ErrorCode.OPEN_MESSAGE, 0, `malformed capability: ${what}`);
}

/** Decodes the capabilities in one optional parameter 2 value, adding to `caps`. */
export function decodeCapabilities(buf: Uint8Array, caps: Capabilities): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < buf.length) {
    if (at + 2 > buf.length) throw malformed('truncated header');
    const code = buf[at] as number;
    const len = buf[at + 1] as number;
    const start = at + 2;
    const end = start + len;
    if (end > buf.length) throw malformed('length beyond parameter');
    switch (code) {
      case CapabilityCode.MULTIPROTOCOL:
        if (len !== 4) throw malformed('multiprotocol length');
        caps.multiprotocol.push({ afi: view.getUint16(start) as AfiNumber, safi: buf[start + 3] as number });
        break;
      case CapabilityCode.ROUTE_REFRESH:
        caps.routeRefresh = true;
        break;
      case CapabilityCode.EXTENDED_MESSAGE:
        caps.extendedMessage = true;
        break;
      case CapabilityCode.EXTENDED_NEXT_HOP:
        if (len % 6 !== 0) throw malformed('extended next hop length');
        for (let i = start; i < end; i += 6) {
          caps.extendedNextHop.push({
            afi: view.getUint16(i) as AfiNumber,
            safi: view.getUint16(i + 2),
            nextHopAfi: view.getUint16(i + 4) as AfiNumber,
          });
        }
        break;
      case CapabilityCode.GRACEFUL_RESTART: {
        if (len < 2 || (len - 2) % 4 !== 0) throw malformed('graceful restart length');
        const head = view.getUint16(start);
        const families: GracefulRestartCapability['families'] = [];
        for (let i = start + 2; i < end; i += 4) {
          families.push({
            afi: view.getUint16(i) as AfiNumber,
            safi: buf[i + 2] as number,
            forwarding: ((buf[i + 3] as number) & 0x80) !== 0,
          });
        }
        caps.gracefulRestart = {
          restarting: (head & 0x8000) !== 0,
          notification: (head & 0x4000) !== 0,
          restartTime: head & 0x0fff,
          families,
        };
        break;
      }
      case CapabilityCode.FOUR_OCTET_AS:
        if (len !== 4) throw malformed('four-octet AS length');
        caps.fourOctetAs = view.getUint32(start);
        break;
      default:
        caps.unknown.push({ code, value: buf.slice(start, end) });
    }
    at = end;
  }
}
