/**
 * Which network interfaces exist and which of them announce. Everything comes from
 * /sys/class/net/<if>/ (ifindex, address, flags, type, master) and /proc/net/if_inet6, which are
 * per network namespace and cost a few small reads; no netlink socket and no child process needed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { formatMac, parseMac } from './mac.js';

/** Interface flags (linux/if.h). */
const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_NOARP = 0x80;
/** ARPHRD_ETHER (linux/if_arp.h): only Ethernet-like links carry our frames. */
const ARPHRD_ETHER = 1;

export interface Link {
  name: string;
  index: number;
  mac: Buffer;
  up: boolean;
  broadcast: boolean;
  noArp: boolean;
  /** Enslaved to a bond or a bridge: the master answers, not the port. */
  enslaved: boolean;
  ethernet: boolean;
  /** The first IPv6 link-local address, used as the source of Neighbor Advertisements. */
  linkLocal?: Buffer;
}

/**
 * Virtual interfaces that never face the layer-2 segment the VIPs live on (the same list as
 * MetalLB's default exclusion): container bridges and veths, CNI devices, the IPVS dummy, tunnels.
 */
export const DEFAULT_EXCLUDED_INTERFACES: readonly RegExp[] = [
  /^docker/,
  /^cbr/,
  /^dummy/,
  /^virbr/,
  /^lxcbr/,
  /^veth/,
  /^lo$/,
  /^cali/,
  /^tunl/,
  /^flannel/,
  /^kube-ipvs/,
  /^cni/,
  /^nodelocaldns/,
  /^lxc/,
];

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined; // the interface went away between listing and reading
  }
}

/** IPv6 link-local addresses per interface name, from /proc/net/if_inet6 (scope 0x20 = link). */
function linkLocalAddresses(procFile: string): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  for (const line of (read(procFile) ?? '').split('\n')) {
    const [hex, , , scope, , name] = line.trim().split(/\s+/);
    if (!hex || hex.length !== 32 || scope !== '20' || !name || result.has(name)) continue;
    result.set(name, Buffer.from(hex, 'hex'));
  }
  return result;
}

export interface ReadLinksOptions {
  /** Only read these names (the others are not even opened). */
  filter?: (name: string) => boolean;
  sysClassNet?: string;
  procIfInet6?: string;
}

export function readLinks(options: ReadLinksOptions = {}): Link[] {
  const base = options.sysClassNet ?? '/sys/class/net';
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const linkLocal = linkLocalAddresses(options.procIfInet6 ?? '/proc/net/if_inet6');
  const links: Link[] = [];
  for (const name of names.sort()) {
    if (options.filter && !options.filter(name)) continue;
    const index = Number(read(`${base}/${name}/ifindex`));
    const mac = parseMac(read(`${base}/${name}/address`) ?? '');
    const flags = Number.parseInt(read(`${base}/${name}/flags`) ?? '', 16);
    const type = Number(read(`${base}/${name}/type`));
    if (!Number.isInteger(index) || index <= 0 || !mac || Number.isNaN(flags)) continue;
    const link: Link = {
      name,
      index,
      mac,
      up: (flags & IFF_UP) !== 0,
      broadcast: (flags & IFF_BROADCAST) !== 0,
      noArp: (flags & IFF_NOARP) !== 0,
      enslaved: existsSync(`${base}/${name}/master`),
      ethernet: type === ARPHRD_ETHER,
    };
    const ll = linkLocal.get(name);
    if (ll) link.linkLocal = ll;
    links.push(link);
  }
  return links;
}

/**
 * An explicit list announces on exactly those interfaces (while they are up). Otherwise: up,
 * Ethernet, broadcast-capable, ARP enabled, not enslaved and not excluded by name.
 */
export function selectLinks(
  links: Link[],
  explicit?: readonly string[],
  excluded = DEFAULT_EXCLUDED_INTERFACES,
): Link[] {
  if (explicit && explicit.length > 0)
    return links.filter((l) => explicit.includes(l.name) && l.up && l.ethernet);
  return links.filter(
    (l) =>
      l.up && l.ethernet && l.broadcast && !l.noArp && !l.enslaved && !excluded.some((re) => re.test(l.name)),
  );
}

/** What identifies a link for the announcer: a change of any of these means reopening its sockets. */
export function linkKey(link: Link): string {
  return `${link.index}/${formatMac(link.mac)}/${link.linkLocal?.toString('hex') ?? '-'}`;
}
