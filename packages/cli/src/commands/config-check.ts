/**
 * `portico config check FILE|DIR [--namespace NS] [--json]`: validates a Portico configuration,
 * given as MetalLB custom resources (metallb.io: one multi-document file, or every .yaml/.yml/.json
 * file of a directory, not recursing) or as the v0.12 ConfigMap (a ConfigMap manifest or the bare
 * value of its `config` key). Every problem is printed at once.
 * Exit 0 valid, 1 invalid, 2 usage error (bad arguments, unreadable file).
 */
import { cidrSize } from '@portico/net';
import { checkSources, configToJSON, poolProtocols, type CheckSource, type Config } from '@portico/config';
import { readManifestFiles } from '../manifest-files.js';

const usage = 'usage: portico config check FILE|DIR [--namespace NS] [--json]';

export async function run(args: string[]): Promise<number> {
  let json = false;
  let namespace: string | undefined;
  const files: string[] = [];
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!optionsDone && arg === '--') optionsDone = true;
    else if (!optionsDone && arg === '--json') json = true;
    else if (!optionsDone && (arg === '--help' || arg === '-h')) {
      console.log(usage);
      return 0;
    } else if (!optionsDone && (arg === '--namespace' || arg === '-n')) {
      namespace = args[++i];
      if (!namespace) {
        console.error(`portico config check: ${arg} needs a namespace\n${usage}`);
        return 2;
      }
    } else if (!optionsDone && arg.startsWith('-') && arg !== '-') {
      console.error(`portico config check: unknown option ${arg}\n${usage}`);
      return 2;
    } else files.push(arg);
  }
  const sources = readSources(files);
  if (sources === undefined) return 2;

  const checked = checkSources(sources, namespace === undefined ? {} : { namespace });
  const result = checked.result;
  const notices = checked.format === 'resources' ? checked.result.notices : [];
  if (json) {
    const config = result.ok
      ? checked.format === 'resources'
        ? configToJSON(result.config, { resources: true })
        : configToJSON(result.config)
      : null;
    const output = {
      valid: result.ok,
      errors: result.ok ? [] : result.errors,
      config,
      // The v0.12 ConfigMap's JSON keeps its documented shape; CRs add what they can say.
      ...(checked.format === 'resources' && { format: 'resources', notices }),
    };
    console.log(JSON.stringify(output, null, 2));
  } else {
    for (const notice of notices) console.error(`notice: ${notice}`);
    if (result.ok) console.log(summary(result.config, checked.format === 'resources'));
    else for (const error of result.errors) console.error(error);
  }
  return result.ok ? 0 : 1;
}

/**
 * The texts to check: one file (`-` is standard input) or the .yaml/.yml/.json files of a
 * directory in name order. Undefined after printing a usage error.
 */
function readSources(files: string[]): CheckSource[] | undefined {
  if (files.length !== 1) {
    console.error(`portico config check: ${files.length === 0 ? 'missing FILE' : 'only one FILE'}\n${usage}`);
    return undefined;
  }
  return readManifestFiles(files, 'portico config check');
}

function summary(config: Config, resources: boolean): string {
  const lines = [`valid: ${plural(config.pools.length, 'pool')}, ${plural(config.peers.length, 'peer')}`];
  for (const pool of config.pools) {
    const perFamily = new Map<string, bigint>();
    for (const cidr of pool.addresses.flatMap((a) => a.cidrs)) {
      perFamily.set(cidr.family, (perFamily.get(cidr.family) ?? 0n) + cidrSize(cidr));
    }
    const counts = [...perFamily].map(
      ([family, n]) => `${plural(n, `${family} address`, `${family} addresses`)}`,
    );
    const flags = [
      pool.autoAssign ? 'auto-assign' : 'no auto-assign',
      ...(pool.avoidBuggyIPs ? ['avoid-buggy-ips'] : []),
      ...(pool.serviceAllocation ? [`reserved, priority ${pool.serviceAllocation.priority}`] : []),
    ];
    const protocols = poolProtocols(pool).join('+') || 'not announced';
    lines.push(`pool "${pool.name}" (${protocols}, ${flags.join(', ')}): ${counts.join(' + ')}`);
    for (const entry of pool.addresses) {
      const count = entry.cidrs.reduce((s, c) => s + cidrSize(c), 0n);
      lines.push(`  ${entry.text} (${plural(count, 'address', 'addresses')})`);
    }
    if (resources) {
      for (const ad of pool.l2Advertisements) lines.push(`  announced by L2Advertisement "${ad.name ?? ''}"`);
      for (const ad of pool.bgpAdvertisements)
        lines.push(`  announced by BGPAdvertisement "${ad.name ?? ''}"`);
    }
  }
  for (const peer of config.peers) {
    const selectors =
      peer.nodeSelectors.length === 0 ? 'all nodes' : plural(peer.nodeSelectors.length, 'node selector');
    const name = peer.name === undefined ? '' : ` "${peer.name}"`;
    const asn = peer.dynamicASN === undefined ? `AS${peer.peerASN}` : `${peer.dynamicASN} AS`;
    lines.push(
      `peer${name} ${peer.peerAddress} port ${peer.peerPort}: AS${peer.myASN} -> ${asn}, hold ${peer.holdTime}s, ${selectors}`,
    );
  }
  return lines.join('\n');
}

function plural(n: number | bigint, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 || n === 1n ? word : words}`;
}
