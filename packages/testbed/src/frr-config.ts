/**
 * The one writer of FRR's `bgpd` configuration (`router bgp`) and of bfdd's BFD profiles. Every
 * suite, benchmark and the lab describe their router as data; the text FRR reads is made here, so
 * the settings testbed.md found necessary are written once: `no bgp ebgp-requires-policy` (FRR
 * otherwise drops eBGP routes no policy accepted) and explicit address families.
 */

export interface FrrTimers {
  keepalive: number;
  hold: number;
}

/** Settings a neighbour or a peer group may carry. */
export interface FrrPeerSettings {
  remoteAs?: number;
  timers?: FrrTimers;
  /** Seconds between connection attempts (`timers connect`). */
  connectRetry?: number;
  /** TCP-MD5 password. */
  password?: string;
  /** RFC 8950: IPv4 routes over an IPv6 session (`capability extended-nexthop`). */
  extendedNexthop?: boolean;
  /** BFD on the session; a string names a bfdd profile. */
  bfd?: true | string;
}

export interface FrrNeighbor extends FrrPeerSettings {
  address: string;
  peerGroup?: string;
}

export interface FrrPeerGroup extends FrrPeerSettings {
  name: string;
}

export interface FrrAddressFamily {
  /** Neighbours or peer groups activated in this family. */
  activate: string[];
  /** ECMP: install up to this many equal paths. */
  maximumPaths?: number;
}

export interface FrrBgpConfig {
  asn: number;
  routerId: string;
  hostname?: string;
  /** bgpd's log file, relative to its working directory. */
  logFile?: string;
  /**
   * true: FRR's default, every IPv4 neighbour active in ipv4 unicast (no address-family blocks
   * needed). Otherwise only what `addressFamilies` activates.
   */
  defaultIpv4Unicast?: boolean;
  /** false: no graceful-restart helper, so a speaker that dies is withdrawn at once. */
  gracefulRestart?: false;
  peerGroups?: FrrPeerGroup[];
  neighbors: FrrNeighbor[];
  addressFamilies?: { ipv4?: FrrAddressFamily; ipv6?: FrrAddressFamily };
}

function peerLines(name: string, p: FrrPeerSettings): string[] {
  const lines: string[] = [];
  if (p.remoteAs !== undefined) lines.push(` neighbor ${name} remote-as ${p.remoteAs}`);
  if (p.timers) lines.push(` neighbor ${name} timers ${p.timers.keepalive} ${p.timers.hold}`);
  if (p.connectRetry !== undefined) lines.push(` neighbor ${name} timers connect ${p.connectRetry}`);
  if (p.password !== undefined) lines.push(` neighbor ${name} password ${p.password}`);
  if (p.extendedNexthop) lines.push(` neighbor ${name} capability extended-nexthop`);
  if (p.bfd) lines.push(` neighbor ${name} bfd`);
  if (typeof p.bfd === 'string') lines.push(` neighbor ${name} bfd profile ${p.bfd}`);
  return lines;
}

/** bgpd.conf for `config`. */
export function frrBgpdConfig(config: FrrBgpConfig): string {
  const lines = ['frr defaults traditional'];
  if (config.hostname) lines.push(`hostname ${config.hostname}`);
  if (config.logFile) lines.push(`log file ${config.logFile}`);
  lines.push(`router bgp ${config.asn}`, ` bgp router-id ${config.routerId}`, ' no bgp ebgp-requires-policy');
  if (!config.defaultIpv4Unicast) lines.push(' no bgp default ipv4-unicast');
  if (config.gracefulRestart === false) lines.push(' bgp graceful-restart-disable');
  for (const group of config.peerGroups ?? [])
    lines.push(` neighbor ${group.name} peer-group`, ...peerLines(group.name, group));
  for (const n of config.neighbors) {
    if (n.peerGroup) lines.push(` neighbor ${n.address} peer-group ${n.peerGroup}`);
    lines.push(...peerLines(n.address, n));
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    const af = config.addressFamilies?.[family];
    if (!af) continue;
    lines.push(` address-family ${family} unicast`);
    for (const name of af.activate) lines.push(`  neighbor ${name} activate`);
    if (af.maximumPaths !== undefined) lines.push(`  maximum-paths ${af.maximumPaths}`);
    lines.push(' exit-address-family');
  }
  return `${lines.join('\n')}\n`;
}

export interface BfdProfile {
  name: string;
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
}

/** bfdd.conf with BFD profiles (bgpd does not accept a `bfd` block; it only names a profile). */
export function frrBfddConfig(profiles: BfdProfile[]): string {
  const lines = ['bfd'];
  for (const p of profiles)
    lines.push(
      ` profile ${p.name}`,
      `  receive-interval ${p.receiveIntervalMs}`,
      `  transmit-interval ${p.transmitIntervalMs}`,
      `  detect-multiplier ${p.detectMultiplier}`,
      ' !',
    );
  lines.push('!');
  return `${lines.join('\n')}\n`;
}
