/**
 * `portico config check FILE [--json]`: validates a Portico (MetalLB v0.12 format) configuration,
 * given as a ConfigMap manifest or as the bare value of its `config` key.
 * Exit 0 valid, 1 invalid, 2 usage error (bad arguments, unreadable file).
 */
import { readFileArgument } from '../args.js';
import {
  cidrSize,
  configToJSON,
  poolProtocols,
  readConfigFile,
  validateForNativeSpeaker,
  type Config,
  type ParseResult,
} from '@portico/config';

const usage = 'usage: portico config check FILE [--json]';

export async function run(args: string[]): Promise<number> {
  let json = false;
  const files: string[] = [];
  let optionsDone = false;
  for (const arg of args) {
    if (!optionsDone && arg === '--') optionsDone = true;
    else if (!optionsDone && arg === '--json') json = true;
    else if (!optionsDone && (arg === '--help' || arg === '-h')) {
      console.log(usage);
      return 0;
    } else if (!optionsDone && arg.startsWith('-') && arg !== '-') {
      console.error(`portico config check: unknown option ${arg}\n${usage}`);
      return 2;
    } else files.push(arg);
  }
  const text = readFileArgument('config check', files, usage);
  if (text === undefined) return 2;

  const result = check(text);
  if (json) {
    const output = result.ok
      ? { valid: true, errors: [], config: configToJSON(result.config) }
      : { valid: false, errors: result.errors, config: null };
    console.log(JSON.stringify(output, null, 2));
  } else if (result.ok) {
    console.log(summary(result.config));
  } else {
    for (const error of result.errors) console.error(error);
  }
  return result.ok ? 0 : 1;
}

/** The config as the controller parses it, plus what the built-in speaker refuses to run. */
function check(text: string): ParseResult {
  const result = readConfigFile(text);
  if (!result.ok) return result;
  const speakerErrors = validateForNativeSpeaker(result.config);
  return speakerErrors.length > 0 ? { ok: false, errors: speakerErrors } : result;
}

function plural(n: number | bigint, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 || n === 1n ? word : words}`;
}

function summary(config: Config): string {
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
    ];
    const protocols = poolProtocols(pool).join('+') || 'not announced';
    lines.push(`pool "${pool.name}" (${protocols}, ${flags.join(', ')}): ${counts.join(' + ')}`);
    for (const entry of pool.addresses) {
      const count = entry.cidrs.reduce((s, c) => s + cidrSize(c), 0n);
      lines.push(`  ${entry.text} (${plural(count, 'address', 'addresses')})`);
    }
  }
  for (const peer of config.peers) {
    const selectors =
      peer.nodeSelectors.length === 0 ? 'all nodes' : plural(peer.nodeSelectors.length, 'node selector');
    lines.push(
      `peer ${peer.peerAddress} port ${peer.peerPort}: AS${peer.myASN} -> AS${peer.peerASN}, hold ${peer.holdTime}s, ${selectors}`,
    );
  }
  return lines.join('\n');
}
