/**
 * Test fixtures built from CIDR and range strings, independent of @portico/config's parser.
 */
import type { AddressPool } from '@portico/config';
import { familyBits, formatAddress, parseIP, type Cidr, type IPFamily } from '@portico/net';
import type { IPFamilyPolicy, ServicePort, ServiceRequest } from '../src/index.js';

export function cidr(text: string): Cidr {
  const [address, length] = text.split('/');
  const ip = parseIP(address!);
  if (!ip) throw new Error(`bad CIDR ${text}`);
  const bits = familyBits[ip.family];
  const prefixLength = length === undefined ? bits : Number(length);
  const hostBits = BigInt(bits - prefixLength);
  const base = (ip.value >> hostBits) << hostBits;
  return {
    family: ip.family,
    base,
    prefixLength,
    text: `${formatAddress({ family: ip.family, value: base })}/${prefixLength}`,
  };
}

/** The minimal ascending CIDR list covering `first-last`. */
export function rangeCidrs(first: string, last: string): Cidr[] {
  const a = parseIP(first)!;
  const b = parseIP(last)!;
  const bits = familyBits[a.family];
  const out: Cidr[] = [];
  let lo = a.value;
  while (lo <= b.value) {
    let size = 0;
    while (
      size < bits &&
      lo % (1n << BigInt(size + 1)) === 0n &&
      lo + (1n << BigInt(size + 1)) - 1n <= b.value
    ) {
      size++;
    }
    out.push(cidr(`${formatAddress({ family: a.family, value: lo })}/${bits - size}`));
    lo += 1n << BigInt(size);
  }
  return out;
}

export interface PoolOptions {
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
}

/** A pool from `a.b.c.d/n` and `a-b` strings, in the given order. */
export function pool(name: string, addresses: string[], options: PoolOptions = {}): AddressPool {
  return {
    name,
    addresses: addresses.map((text) => {
      if (text.includes('-')) {
        const [first, last] = text.split('-');
        return { text, cidrs: rangeCidrs(first!, last!) };
      }
      return { text, cidrs: [cidr(text)] };
    }),
    autoAssign: options.autoAssign ?? true,
    avoidBuggyIPs: options.avoidBuggyIPs ?? false,
    l2Advertisements: [
      { nodeSelectors: [], interfaces: [], serviceSelectors: [], preferredNodeSelectors: [] },
    ],
    bgpAdvertisements: [],
  };
}

export interface ServiceOptions {
  families?: IPFamily[];
  policy?: IPFamilyPolicy;
  requestedIPs?: string[];
  pool?: string;
  sharingKey?: string;
  backendKey?: string;
  ports?: ServicePort[] | string;
}

/** Ports as `TCP/80,UDP/53` for brevity. */
export function ports(text: string): ServicePort[] {
  if (text === '') return [];
  return text.split(',').map((item) => {
    const [protocol, port] = item.split('/');
    return { protocol: protocol as ServicePort['protocol'], port: Number(port) };
  });
}

export function service(key: string, options: ServiceOptions = {}): ServiceRequest {
  const p = options.ports ?? 'TCP/80';
  return {
    key,
    families: options.families ?? ['IPv4'],
    ipFamilyPolicy: options.policy ?? 'SingleStack',
    requestedIPs: options.requestedIPs ?? [],
    ...(options.pool !== undefined && { pool: options.pool }),
    ...(options.sharingKey !== undefined && { sharingKey: options.sharingKey }),
    ...(options.backendKey !== undefined && { backendKey: options.backendKey }),
    ports: typeof p === 'string' ? ports(p) : p,
  };
}
