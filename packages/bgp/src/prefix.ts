/**
 * IP prefixes as carried in NLRI fields (RFC 4271 §4.3, RFC 4760 §5): a length in bits followed by
 * the fewest octets that hold it. Text is read and written by @portico/net; a prefix keeps its
 * network address as octets because that is what every UPDATE copies (once per prefix per peer),
 * and the text form, the canonical CIDR string, is the map key.
 */
import {
  addressToBytes,
  formatAddressBytes,
  hostCidr,
  parseAddress,
  parseCidr,
  type Cidr,
  type IPFamily,
} from '@portico/net';
import { Afi, type AfiNumber, ErrorCode, UpdateSubcode } from './constants.js';
import { BgpError } from './errors.js';

export interface Prefix {
  afi: AfiNumber;
  /** Prefix length in bits. */
  length: number;
  /** The network address, 4 or 16 octets, host bits zero. */
  address: Uint8Array;
}

/** The octets of an address of the given family; throws TypeError naming the text otherwise. */
export function addressOctets(text: string, family: IPFamily): Uint8Array {
  const address = parseAddress(text);
  if (address?.family !== family) throw new TypeError(`not an ${family} address: ${text}`);
  return addressToBytes(address);
}

/** Parses "198.51.100.10/32", "2001:db8::/32" or a bare address (a host route). Host bits must be zero. */
export function parsePrefix(text: string): Prefix {
  return prefixOf(parseRoutePrefix(text));
}

/** The CIDR of a route's prefix text (a bare address is a host route); throws TypeError naming it. */
export function parseRoutePrefix(text: string): Cidr {
  const address = text.includes('/') ? undefined : parseAddress(text);
  const cidr = address ? hostCidr(address) : parseCidr(text);
  if (typeof cidr === 'string') throw new TypeError(`bad prefix ${JSON.stringify(text)}: ${cidr}`);
  return cidr;
}

/** A CIDR in its NLRI form. */
export function prefixOf(cidr: Cidr): Prefix {
  return {
    afi: cidr.family === 'IPv4' ? Afi.IPV4 : Afi.IPV6,
    length: cidr.prefixLength,
    address: addressToBytes({ family: cidr.family, value: cidr.base }),
  };
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddressBytes(prefix.address)}/${prefix.length}`;
}

/** Octets one prefix takes in an NLRI field. */
export function encodedPrefixLength(prefix: Prefix): number {
  return 1 + ((prefix.length + 7) >> 3);
}

export function writePrefix(buf: Uint8Array, offset: number, prefix: Prefix): number {
  const octets = (prefix.length + 7) >> 3;
  buf[offset] = prefix.length;
  // A plain copy: a subarray view per prefix costs more than the few octets it would copy.
  for (let i = 0; i < octets; i++) buf[offset + 1 + i] = prefix.address[i] as number;
  return offset + 1 + octets;
}

/**
 * Decodes a run of prefixes filling `buf[start, end)`. An error in an NLRI field cannot be
 * localised to one route, so RFC 7606 §5.3 requires a session reset: thrown as BgpError.
 */
export function readPrefixes(buf: Uint8Array, start: number, end: number, afi: AfiNumber): Prefix[] {
  const max = afi === Afi.IPV4 ? 32 : 128;
  const out: Prefix[] = [];
  let at = start;
  while (at < end) {
    const length = buf[at] as number;
    const octets = (length + 7) >> 3;
    if (length > max || at + 1 + octets > end) {
      throw new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD, 'malformed NLRI');
    }
    const address = new Uint8Array(max / 8);
    address.set(buf.subarray(at + 1, at + 1 + octets));
    // RFC 4271 §4.3: trailing bits after the prefix are irrelevant; clear them so equal prefixes compare equal.
    if (length & 7) address[octets - 1] = (address[octets - 1] as number) & (0xff << (8 - (length & 7)));
    out.push({ afi, length, address });
    at += 1 + octets;
  }
  return out;
}
