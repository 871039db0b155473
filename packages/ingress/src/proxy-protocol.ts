/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) a load balancer in front of us puts
 * at the start of each TCP connection, before any HTTP or TLS byte: the address the client
 * connected from and the one it connected to. Without it, every connection seems to come from the
 * load balancer.
 *
 * A pure parser: give it the bytes received so far, again with more when it asks for them. It
 * refuses as soon as the bytes cannot start a valid header, so a client that speaks HTTP or TLS
 * where a header is required is turned away at its first read, and it never waits for more than
 * the header's bound (107 bytes for v1, 16 plus `maxV2Length` for v2).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ProxyAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

/**
 * `proxied`: the connection was relayed for `source`. `local`: the header says nothing about a
 * client (v2 LOCAL, a health check by the load balancer itself; v1 UNKNOWN; v2 UNSPEC, UNIX or
 * DGRAM addresses): the connection's own addresses stay.
 */
export type ProxyHeader =
  | {
      readonly kind: 'proxied';
      readonly version: 1 | 2;
      readonly source: ProxyAddress;
      readonly destination: ProxyAddress;
    }
  | { readonly kind: 'local'; readonly version: 1 | 2 };

export type ProxyParse =
  | { readonly state: 'more' }
  | {
      readonly state: 'done';
      readonly header: ProxyHeader;
      /** Bytes of the header. */ readonly length: number;
    }
  | { readonly state: 'refused'; readonly reason: string };

/** The longest v1 header, CRLF included (the spec's worst case: TCP6 with the longest addresses). */
export const V1_MAX_LENGTH = 107;

/** v2 address-and-TLV lengths we accept by default; the spec allows 65535, no sender needs that much. */
export const DEFAULT_MAX_V2_LENGTH = 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

const MORE: ProxyParse = { state: 'more' };
const refused = (reason: string): ProxyParse => ({ state: 'refused', reason });

/** Parses the header at the start of `bytes` (everything received so far on the connection). */
export function parseProxyHeader(bytes: Uint8Array, maxV2Length = DEFAULT_MAX_V2_LENGTH): ProxyParse {
  if (bytes.length === 0) return MORE;
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes, maxV2Length);
  return refused('no PROXY protocol header');
}

function startsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function parseV1(bytes: Uint8Array): ProxyParse {
  if (!startsLike(bytes, V1_PREFIX)) return refused('no PROXY protocol header');
  const limit = Math.min(bytes.length, V1_MAX_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (bytes[i] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) return bytes.length >= V1_MAX_LENGTH ? refused('v1 header longer than 107 bytes') : MORE;
  if (bytes[end - 1] !== 0x0d) return refused('v1 header not ended by CRLF');
  const line = Buffer.from(bytes.buffer, bytes.byteOffset, end - 1).toString('latin1');
  const length = end + 1;
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { state: 'done', header: { kind: 'local', version: 1 }, length };
  if (parts.length !== 6) return refused('v1 header: expected PROXY TCP4|TCP6 SRC DST SPORT DPORT');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 'IPv4' : proto === 'TCP6' ? 'IPv6' : undefined;
  if (!family) return refused(`v1 header: unknown protocol ${JSON.stringify(proto)}`);
  const valid = family === 'IPv4' ? isDottedQuad : isPlainIPv6;
  if (!valid(src) || !valid(dst)) return refused(`v1 header: address is not ${family}`);
  const sourcePort = v1Port(sport);
  const destinationPort = v1Port(dport);
  if (sourcePort === undefined || destinationPort === undefined) return refused('v1 header: bad port');
  return {
    state: 'done',
    header: {
      kind: 'proxied',
      version: 1,
      source: { address: src, port: sourcePort, family },
      destination: { address: dst, port: destinationPort, family },
    },
    length,
  };
}

/** Four decimal bytes, no leading zeros (they would read as octal to some parsers). */
function isDottedQuad(s: string): boolean {
  return isIPv4(s) && s.split('.').every((p) => p === '0' || !p.startsWith('0'));
}

/** An IPv6 address without a zone (`%eth0` names nothing on our side). */
function isPlainIPv6(s: string): boolean {
  return !s.includes('%') && isIPv6(s);
}

function v1Port(s: string): number | undefined {
  if (!/^(?:0|[1-9]\d{0,4})$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** Address block lengths by family (high nibble of byte 13): INET, INET6, UNIX. */
const ADDRESS_LENGTH = [0, 12, 36, 216];

function parseV2(bytes: Uint8Array, maxV2Length: number): ProxyParse {
  if (!startsLike(bytes, V2_SIGNATURE)) return refused('no PROXY protocol header');
  if (bytes.length < 16) return MORE;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return refused(`v2 header: version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command > 1) return refused(`v2 header: command ${command}`);
  const familyProtocol = bytes[13]!;
  const family = familyProtocol >> 4;
  const protocol = familyProtocol & 0x0f;
  if (family > 3 || protocol > 2)
    return refused(`v2 header: family/protocol 0x${familyProtocol.toString(16)}`);
  const declared = (bytes[14]! << 8) | bytes[15]!;
  if (declared > maxV2Length) return refused(`v2 header: ${declared} bytes of addresses over the limit`);
  const length = 16 + declared;
  if (bytes.length < length) return MORE;
  const local: ProxyParse = { state: 'done', header: { kind: 'local', version: 2 }, length };
  // LOCAL: the load balancer's own connection (health check); what follows the header is skipped.
  if (command === 0) return local;
  const addressLength = ADDRESS_LENGTH[family]!;
  if (declared < addressLength) return refused('v2 header: address block shorter than its family');
  const tlvError = checkTlvs(bytes, 16 + addressLength, length);
  if (tlvError) return refused(tlvError);
  // UNSPEC, UNIX and DGRAM name no TCP client over IP: the connection's own addresses stay.
  if ((family !== 1 && family !== 2) || protocol !== 1) return local;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + 16, addressLength);
  const ipv4 = family === 1;
  const size = ipv4 ? 4 : 16;
  const ports = 2 * size;
  const address = (offset: number): string => (ipv4 ? ipv4Text(view, offset) : ipv6Text(view, offset));
  const fam = ipv4 ? 'IPv4' : 'IPv6';
  return {
    state: 'done',
    header: {
      kind: 'proxied',
      version: 2,
      source: { address: address(0), port: view.readUInt16BE(ports), family: fam },
      destination: { address: address(size), port: view.readUInt16BE(ports + 2), family: fam },
    },
    length,
  };
}

/** TLVs (type, 16-bit length, value) must tile [from, to) exactly; their contents are not used. */
function checkTlvs(bytes: Uint8Array, from: number, to: number): string | undefined {
  let at = from;
  while (at < to) {
    if (to - at < 3) return 'v2 header: truncated TLV';
    const length = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    at += 3 + length;
    if (at > to) return 'v2 header: TLV longer than the header';
  }
  return undefined;
}

function ipv4Text(b: Buffer, offset: number): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 text (lower case, longest zero run compressed), as Node prints socket addresses. */
function ipv6Text(b: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(offset + 2 * i));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  // IPv4-mapped (::ffff:a.b.c.d) as Node writes it.
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff)
    return `::ffff:${ipv4Text(b, offset + 12)}`;
  return `${head}::${tail}`;
}

/** A v1 header for `source` → `destination` (tests, and tools that speak to a proxied listener). */
export function encodeV1(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const proto = source.family === 'IPv4' ? 'TCP4' : 'TCP6';
  return Buffer.from(
    `PROXY ${proto} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`,
    'latin1',
  );
}

/** A v2 PROXY (or, without addresses, LOCAL) header with optional raw TLV bytes. */
export function encodeV2(
  addresses: { source: ProxyAddress; destination: ProxyAddress } | undefined,
  tlvs: Uint8Array = Buffer.alloc(0),
): Buffer {
  if (!addresses) {
    const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0, 0])]);
    head.writeUInt16BE(tlvs.length, 14);
    return Buffer.concat([head, tlvs]);
  }
  const { source, destination } = addresses;
  const ipv4 = source.family === 'IPv4';
  const block = Buffer.alloc(ipv4 ? 12 : 36);
  const size = ipv4 ? 4 : 16;
  writeAddress(block, 0, source.address, ipv4);
  writeAddress(block, size, destination.address, ipv4);
  block.writeUInt16BE(source.port, 2 * size);
  block.writeUInt16BE(destination.port, 2 * size + 2);
  const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, ipv4 ? 0x11 : 0x21, 0, 0])]);
  head.writeUInt16BE(block.length + tlvs.length, 14);
  return Buffer.concat([head, block, tlvs]);
}

function writeAddress(block: Buffer, offset: number, address: string, ipv4: boolean): void {
  if (ipv4) {
    address.split('.').forEach((p, i) => block.writeUInt8(Number(p), offset + i));
    return;
  }
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  // Hex groups, the last one possibly a dotted IPv4 address (two groups).
  const parse = (s: string): number[] =>
    s
      ? s.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        })
      : [];
  const front = parse(head);
  const back = parse(tail ?? '');
  const groups =
    tail === undefined
      ? front
      : [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  groups.forEach((g, i) => block.writeUInt16BE(g, offset + 2 * i));
}
