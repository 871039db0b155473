/**
 * IPAddressPool resources into pools (without their advertisements, which come from the
 * L2Advertisement and BGPAdvertisement resources), with the rules of MetalLB's addressPoolFromCR
 * and poolsFor: addresses required, each a CIDR or a range, no CIDR overlapping another one of any
 * pool, `serviceAllocation` with unique namespaces and valid, unique selectors.
 */
import { parseAddressEntry } from './addresses.js';
import { DisjointCidrSet } from './cidr-set.js';
import type { AddressEntry, ServiceAllocation } from './model.js';
import { FieldReader } from './resource-fields.js';
import { label, type Resource } from './resource-peers.js';

/** A pool before its advertisements are attached. */
export interface PoolBase {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly addresses: readonly AddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
}

/** Decodes the pools, in the order given (the caller sorts them by name, as the API lists them). */
export function decodePools(resources: readonly Resource[], errors: string[]): PoolBase[] {
  const accepted = new DisjointCidrSet<string>();
  const pools: PoolBase[] = [];
  for (const resource of resources) {
    const read = new FieldReader(errors, label(resource));
    const before = read.count;
    const spec = read.map(resource.spec, 'spec', [
      'addresses',
      'autoAssign',
      'avoidBuggyIPs',
      'serviceAllocation',
    ]);
    if (!spec) continue;
    const texts = read.strings(spec.addresses, 'spec.addresses', 100);
    if (texts.length === 0 && read.count === before)
      read.fail('spec.addresses', 'pool has no prefixes defined');
    const parsed: { entry: AddressEntry; index: number }[] = [];
    texts.forEach((text, index) => {
      const entry = parseAddressEntry(text);
      if (typeof entry === 'string') read.fail(`spec.addresses[${index}]`, `${entry}`);
      else parsed.push({ entry, index });
    });
    // Every CIDR against those of the pools before (in name order) and of this pool's earlier
    // entries; one error per entry, as a range can summarise into many blocks.
    for (const { entry, index } of parsed) {
      for (const cidr of entry.cidrs) {
        const clash = accepted.findOverlap(cidr);
        if (!clash) {
          accepted.add(cidr, resource.name);
          continue;
        }
        read.fail(
          `spec.addresses[${index}]`,
          `CIDR "${cidr.text}" in pool "${resource.name}" overlaps with already defined CIDR "${clash.cidr.text}" (IPAddressPool "${clash.owner}")`,
        );
        break;
      }
    }
    const autoAssign = read.bool(spec.autoAssign, 'spec.autoAssign') ?? true;
    const avoidBuggyIPs = read.bool(spec.avoidBuggyIPs, 'spec.avoidBuggyIPs') ?? false;
    const serviceAllocation = readServiceAllocation(read, spec.serviceAllocation);
    if (read.count !== before) continue;
    pools.push({
      name: resource.name,
      labels: resource.labels,
      addresses: parsed.map((p) => p.entry),
      autoAssign,
      avoidBuggyIPs,
      ...(serviceAllocation !== undefined && { serviceAllocation }),
    });
  }
  return pools;
}

function readServiceAllocation(read: FieldReader, value: unknown): ServiceAllocation | undefined {
  if (value === undefined || value === null) return undefined;
  const path = 'spec.serviceAllocation';
  const raw = read.map(value, path, ['priority', 'namespaces', 'namespaceSelectors', 'serviceSelectors']);
  if (!raw) return undefined;
  const priority = read.int(raw.priority, `${path}.priority`, 0, 2147483647) ?? 0;
  const namespaces = read.strings(raw.namespaces, `${path}.namespaces`);
  namespaces.forEach((ns, i) => {
    if (namespaces.indexOf(ns) < i)
      read.fail(`${path}.namespaces[${i}]`, `duplicate definition in namespaces field: "${ns}"`);
  });
  return {
    priority,
    namespaces,
    namespaceSelectors: read.selectors(raw.namespaceSelectors, `${path}.namespaceSelectors`),
    serviceSelectors: read.selectors(raw.serviceSelectors, `${path}.serviceSelectors`),
  };
}
