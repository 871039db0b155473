/**
 * `portico l2 announce --interface IF --ip ADDR... [--refresh SECONDS] [--no-probe]`: a standalone
 * ARP/NDP announcer. It answers for the given IPs on the given interfaces (or, without
 * --interface, on every suitable one) until SIGINT or SIGTERM, and logs what it does as JSON.
 * Needs CAP_NET_RAW. Exit 0 after a clean stop, 1 when it cannot announce, 2 on usage errors.
 */
import { parseArgs } from 'node:util';
import { Announcer } from '@portico/layer2';
import { parseAddress } from '@portico/net';
import { createLogger } from '../logger.js';

const usage = `usage: portico l2 announce [--interface IF]... --ip ADDR [ADDR...] [--refresh SECONDS] [--no-probe]

  --interface IF     announce on IF (repeatable); default: every interface that is up,
                     broadcast-capable, ARP-enabled, not enslaved and not virtual (veth*, cni*, ...)
  --ip ADDR          IPv4 or IPv6 address to announce (repeatable; more may follow one --ip)
  --refresh SECONDS  gratuitous ARP / unsolicited NA refresh interval after the takeover burst
                     (default 30; 0 disables)
  --no-probe         claim the addresses without probing for another owner first`;

export interface L2AnnounceOptions {
  interfaces: string[];
  ips: string[];
  refreshSeconds: number;
  probe: boolean;
}

/** The parsed options, or an error message for the usage text. */
export function parseL2AnnounceArgs(args: string[]): L2AnnounceOptions | string {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        interface: { type: 'string', multiple: true },
        ip: { type: 'string', multiple: true },
        refresh: { type: 'string' },
        'no-probe': { type: 'boolean' },
      },
    });
  } catch (err) {
    return (err as Error).message;
  }
  const { values, positionals } = parsed;
  // "--ip A B C": addresses after the first --ip come as positionals.
  const ips = [...(values.ip ?? []), ...positionals];
  if (ips.length === 0) return 'at least one --ip is required';
  if (values.ip === undefined && positionals.length > 0) return `unexpected argument ${positionals[0]}`;
  const bad = ips.find((ip) => !parseAddress(ip));
  if (bad !== undefined) return `not an IP address: ${bad}`;
  const refreshSeconds = values.refresh === undefined ? 30 : Number(values.refresh);
  if (!Number.isFinite(refreshSeconds) || refreshSeconds < 0)
    return `--refresh needs seconds >= 0, not ${values.refresh}`;
  return { interfaces: values.interface ?? [], ips, refreshSeconds, probe: !values['no-probe'] };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const options = parseL2AnnounceArgs(args);
  if (typeof options === 'string') {
    console.error(`portico l2 announce: ${options}\n${usage}`);
    return 2;
  }
  const logger = createLogger('l2-announce');
  const announcer = new Announcer({
    interfaces: options.interfaces,
    refreshIntervalMs: options.refreshSeconds * 1000,
    probe: options.probe ? undefined : false,
    logger,
  });
  if (announcer.interfaces.length === 0) {
    logger.error(
      { wanted: options.interfaces.length > 0 ? options.interfaces : 'default selection' },
      'no usable interface (missing, down, or no CAP_NET_RAW)',
    );
    announcer.close();
    return 1;
  }
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await Promise.all(options.ips.map((ip) => announcer.announce(ip)));
  logger.info({ ips: options.ips, interfaces: announcer.interfaces }, 'all addresses announced');
  const signal = await stopped;
  announcer.close();
  const metrics = await announcer.registry.getMetricsAsJSON();
  const totals = Object.fromEntries(
    metrics.map((m) => [m.name, (m.values as { value: number }[]).reduce((sum, v) => sum + v.value, 0)]),
  );
  logger.info({ signal, ...totals }, 'stopped');
  return 0;
}
