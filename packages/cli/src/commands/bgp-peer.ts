/**
 * `portico bgp peer`: one BGP session from flags, to test peering with a router before installing
 * Portico. Prints every state transition and what was negotiated; runs until stopped, or with
 * --check exits 0 once the session is Established and the routes are sent (1 on timeout).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import {
  type CloseReason,
  communityValue,
  describeNotification,
  largeCommunityValue,
  type PeerOptions,
  type Route,
  Speaker,
} from '@portico/bgp';

const usage = `usage: portico bgp peer --local-asn N --peer ADDR --peer-asn N [--router-id A] [--port N]
       [--source-address A] [--password S] [--hold-time SECONDS] [--passive] [--bfd]
       [--announce PREFIX,...] [--announce-file FILE] [--next-hop A] [--community C,...]
       [--large-community C,...] [--local-pref N] [--med N] [--check] [--timeout SECONDS]`;

function fail(message: string): never {
  throw Object.assign(new Error(message), { usage: true });
}

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || +value < min || +value > max)
    fail(`--${name} must be an integer from ${min} to ${max}`);
  return +value;
}

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export async function run(args: string[]): Promise<number> {
  let speaker: Speaker;
  let check: boolean;
  let timeoutMs: number;
  let peer: string;
  try {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'local-asn': { type: 'string' },
        peer: { type: 'string' },
        'peer-asn': { type: 'string' },
        'router-id': { type: 'string' },
        port: { type: 'string' },
        'source-address': { type: 'string' },
        password: { type: 'string' },
        'hold-time': { type: 'string' },
        passive: { type: 'boolean' },
        bfd: { type: 'boolean' },
        announce: { type: 'string', multiple: true },
        'announce-file': { type: 'string' },
        'next-hop': { type: 'string' },
        community: { type: 'string', multiple: true },
        'large-community': { type: 'string', multiple: true },
        'local-pref': { type: 'string' },
        med: { type: 'string' },
        check: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const localAsn = int('local-asn', values['local-asn'], 1, 0xffffffff) ?? fail('--local-asn is required');
    const peerAsn = int('peer-asn', values['peer-asn'], 1, 0xffffffff) ?? fail('--peer-asn is required');
    peer = values.peer ?? fail('--peer is required');
    if (isIP(peer) === 0) fail(`--peer ${peer} is not an IP address`);
    const routerId = values['router-id'];
    if (routerId !== undefined && isIP(routerId) !== 4) fail('--router-id must be a dotted quad');
    const source = values['source-address'];
    if (source !== undefined && isIP(source) === 0) fail(`--source-address ${source} is not an IP address`);
    const nextHop = values['next-hop'];
    if (nextHop !== undefined && isIP(nextHop) === 0) fail(`--next-hop ${nextHop} is not an IP address`);
    const holdTime = int('hold-time', values['hold-time'], 0, 65535);
    if (holdTime !== undefined && holdTime > 0 && holdTime < 3) fail('--hold-time must be 0 or at least 3');
    const port = int('port', values.port, 1, 65535);
    const localPref = int('local-pref', values['local-pref'], 0, 0xffffffff);
    const med = int('med', values.med, 0, 0xffffffff);
    timeoutMs = (int('timeout', values.timeout, 1, 86400) ?? 30) * 1000;
    check = values.check ?? false;

    let prefixes = list(values.announce);
    if (values['announce-file']) {
      const text = readFileSync(values['announce-file'], 'utf8');
      prefixes = prefixes.concat(
        text
          .split('\n')
          .map((l) => l.replace(/#.*/, '').trim())
          .filter((l) => l !== ''),
      );
    }
    const communities = list(values.community);
    const largeCommunities = list(values['large-community']);
    // Checked here too, so a typo is reported even when nothing is announced.
    communities.forEach(communityValue);
    largeCommunities.forEach(largeCommunityValue);
    const routes: Route[] = prefixes.map((prefix) => {
      const r: Route = { prefix };
      if (nextHop && isIP(nextHop) === (prefix.includes(':') ? 6 : 4)) r.nextHop = nextHop;
      if (communities.length > 0) r.communities = communities;
      if (largeCommunities.length > 0) r.largeCommunities = largeCommunities;
      if (localPref !== undefined) r.localPref = localPref;
      if (med !== undefined) r.med = med;
      return r;
    });

    const options: ConstructorParameters<typeof Speaker>[0] = { localAsn };
    if (routerId) options.routerId = routerId;
    if (values.passive) options.listen = { address: source ?? '::', port: port ?? 179 };
    speaker = new Speaker(options);
    const peerOptions: PeerOptions = {
      peerAddress: peer,
      peerAsn,
      connectRetryTime: 1,
      maxConnectRetryTime: 30,
    };
    if (source) peerOptions.localAddress = source;
    if (values.password) peerOptions.password = values.password;
    if (holdTime !== undefined) peerOptions.holdTime = holdTime;
    if (port !== undefined && !values.passive) peerOptions.peerPort = port;
    if (values.passive) peerOptions.passive = true;
    if (values.bfd) peerOptions.bfd = {};
    // A next hop of the other family serves routes of that family over this session.
    if (nextHop && isIP(nextHop) === 4) peerOptions.nextHopIPv4 = nextHop;
    if (nextHop && isIP(nextHop) === 6) peerOptions.nextHopIPv6 = nextHop;
    speaker.addPeer(peerOptions);
    speaker.setRoutes(routes); // validates every prefix and community
  } catch (err) {
    const e = err as Error & { usage?: boolean; code?: string };
    console.error(`portico bgp peer: ${e.message}\n${usage}`);
    return e.usage || e.code?.startsWith('ERR_PARSE_ARGS') || err instanceof TypeError ? 2 : 1;
  }
  return session(speaker, peer, check, timeoutMs);
}

function session(speaker: Speaker, peer: string, check: boolean, timeoutMs: number): Promise<number> {
  const time = () => new Date().toISOString();
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = async (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await speaker.stop();
      resolve(code);
    };
    const onSignal = () => void finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = check
      ? setTimeout(() => {
          console.error(
            `${time()} timeout: session with ${peer} not Established (state ${speaker.peer(peer)?.state})`,
          );
          void finish(1);
        }, timeoutMs)
      : undefined;
    speaker.on('state', (_p, state, previous) => console.log(`${time()} ${previous} -> ${state}`));
    speaker.on('established', (_p, n) => {
      const caps = n.peerCapabilities;
      console.log(
        `${time()} negotiated: peer AS ${n.peerAsn}, router id ${n.peerRouterId}, hold time ${n.holdTime}s`,
      );
      console.log(
        `  families ${n.families.map((f) => (f === 1 ? 'ipv4-unicast' : 'ipv6-unicast')).join(' ') || '(none)'}; ` +
          `4-octet AS ${n.fourOctetAs ? 'yes' : 'no'}; route refresh ${n.routeRefresh ? 'yes' : 'no'}; ` +
          `extended messages ${n.extendedMessage ? 'yes' : 'no'}; IPv4 with IPv6 next hop ${n.ipv4OverIpv6NextHop ? 'yes' : 'no'}; ` +
          `graceful restart ${caps.gracefulRestart ? `yes (restart time ${caps.gracefulRestart.restartTime}s)` : 'no'}`,
      );
    });
    speaker.on('sent', (_p, c) =>
      console.log(
        `${time()} sent ${c.updates} UPDATE(s): ${c.announced} announced, ${c.withdrawn} withdrawn`,
      ),
    );
    speaker.on('end-of-rib', (_p, afi) => {
      console.log(`${time()} End-of-RIB sent for ${afi === 1 ? 'ipv4' : 'ipv6'}-unicast`);
      const n = speaker.peer(peer)?.negotiated;
      if (check && n && afi === n.families[n.families.length - 1]) {
        console.log(
          `${time()} check passed: Established, ${speaker.peer(peer)?.prefixesAdvertised ?? 0} prefix(es) sent`,
        );
        void finish(0);
      }
    });
    const detail = (reason: CloseReason) =>
      reason.sent
        ? `sent ${describeNotification(reason.sent.code, reason.sent.subcode)}: ${reason.message}`
        : reason.received
          ? `received ${describeNotification(reason.received.code, reason.received.subcode)}`
          : reason.message;
    speaker.on('down', (_p, reason) => console.log(`${time()} session down: ${detail(reason)}`));
    speaker.on('closed', (_p, reason) => console.log(`${time()} connection closed: ${detail(reason)}`));
    speaker.start().catch((err: Error) => {
      console.error(`portico bgp peer: ${err.message}`);
      void finish(1);
    });
  });
}
