/**
 * decodeResources: MetalLB's metallb.io custom resources (IPAddressPool, L2Advertisement,
 * BGPAdvertisement, Community, BFDProfile, BGPPeer v1beta1/v1beta2, and the basic-auth Secrets
 * that BGPPeer `passwordSecret` names) into the same Config the v0.12 ConfigMap gives, read the
 * way MetalLB's config.For reads them, and validated the way its webhooks do (which run that same
 * parser). Pure: the resources are plain objects, from the API server or from YAML files.
 *
 * Unlike MetalLB, which stops at the first problem, every problem is reported, each as
 * `Kind "name": field: message` with the value; a resource with a problem is left out of the later
 * checks so one mistake is reported once. Resources of each kind are read in name order (the
 * order the API server lists them in), so the result does not depend on the order of the input.
 */
import { parseAllDocuments } from 'yaml';
import { parseAnyCommunity } from './community.js';
import type { LargeCommunity } from '@portico/net';
import type { AddressPool, BfdProfile, Config, Peer } from './model.js';
import {
  decodeBgpAdvertisements,
  decodeL2Advertisements,
  type Communities,
  type NodeInfo,
} from './resource-advertisements.js';
import { FieldReader, isMap, show, type Json } from './resource-fields.js';
import { decodeBfdProfile, decodePeer, label, type Resource } from './resource-peers.js';
import { decodePools } from './resource-pools.js';
import { setOwn } from './decode.js';

export type { NodeInfo } from './resource-advertisements.js';

export interface DecodeResourcesOptions {
  /**
   * The namespace Portico reads its configuration from: a resource in another namespace is an
   * error. Resources without a namespace (as in files applied with `-n`) count as in it.
   */
  readonly namespace?: string;
  /** The cluster's nodes, for the one rule that depends on them (LOCAL_PREF agreement). */
  readonly nodes?: readonly NodeInfo[];
}

export type ResourcesResult =
  { ok: true; config: Config; notices: string[] } | { ok: false; errors: string[]; notices: string[] };

const group = 'metallb.io';
/** The kinds that configure, and the versions each is read in. */
const kinds: Readonly<Record<string, readonly string[]>> = {
  IPAddressPool: ['v1beta1'],
  L2Advertisement: ['v1beta1'],
  BGPAdvertisement: ['v1beta1'],
  Community: ['v1beta1'],
  BFDProfile: ['v1beta1'],
  BGPPeer: ['v1beta1', 'v1beta2'],
};
/** MetalLB's status kinds: written by MetalLB, not configuration. */
const statusKinds = new Set(['ServiceL2Status', 'ServiceBGPStatus', 'ConfigurationState']);
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function decodeResources(
  objects: readonly unknown[],
  options: DecodeResourcesOptions = {},
): ResourcesResult {
  const errors: string[] = [];
  const notices: string[] = [];
  const byKind = sortIntoKinds(objects, options.namespace, errors, notices);
  const of = (kind: string) => byKind.get(kind) ?? [];

  const bfdProfiles: BfdProfile[] = [];
  for (const r of of('BFDProfile')) {
    const profile = decodeBfdProfile(r, errors);
    if (profile) bfdProfiles.push(profile);
  }
  // Every profile name, even of a broken profile, so a peer naming it is not reported again.
  const bfdNames = new Set(of('BFDProfile').map((r) => r.name));
  const secrets = new Map(of('Secret').map((r) => [r.name, r]));
  const peers: Peer[] = [];
  for (const r of of('BGPPeer')) {
    const peer = decodePeer(r, bfdNames, secrets, errors);
    if (peer) peers.push(peer);
  }
  const communities = decodeCommunities(of('Community'), errors);

  const poolBases = decodePools(of('IPAddressPool'), errors);
  const l2 = decodeL2Advertisements(of('L2Advertisement'), poolBases, errors, notices);
  const peerNames = new Set(of('BGPPeer').map((r) => r.name));
  const bgp = decodeBgpAdvertisements(
    of('BGPAdvertisement'),
    poolBases,
    communities,
    peerNames,
    options.nodes,
    errors,
    notices,
  );
  const pools: AddressPool[] = poolBases.map(({ labels: _labels, ...pool }) => ({
    ...pool,
    l2Advertisements: l2.get(pool.name) ?? [],
    bgpAdvertisements: bgp.get(pool.name) ?? [],
  }));
  checkBfdEcho(pools, peers, bfdProfiles, errors);
  for (const pool of pools) {
    if (pool.l2Advertisements.length === 0 && pool.bgpAdvertisements.length === 0) {
      notices.push(
        `IPAddressPool "${pool.name}": no L2Advertisement or BGPAdvertisement selects it: its addresses are given out but not announced`,
      );
    }
  }

  if (errors.length > 0) return { ok: false, errors, notices };
  return {
    ok: true,
    config: {
      pools,
      peers,
      bfdProfiles,
      communities: communities.legacy,
      largeCommunities: communities.large,
    },
    notices,
  };
}

/**
 * Checks each object's envelope (apiVersion, kind, metadata.name, namespace) and groups the
 * configuration kinds and Secrets by kind, each sorted by name; `List` objects (`kubectl get -o
 * yaml`) are opened. Objects of other kinds are ignored with a notice.
 */
function sortIntoKinds(
  objects: readonly unknown[],
  namespace: string | undefined,
  errors: string[],
  notices: string[],
): Map<string, Resource[]> {
  const byKind = new Map<string, Resource[]>();
  const flat = objects.flatMap((o) =>
    isMap(o) && o.kind === 'List' && Array.isArray(o.items) ? (o.items as unknown[]) : [o],
  );
  flat.forEach((object, i) => {
    if (object === null || object === undefined) return;
    const where = `object #${i + 1}`;
    if (!isMap(object)) {
      errors.push(`${where}: expected a Kubernetes object (a map), got ${show(object)}`);
      return;
    }
    const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const metadata = isMap(object.metadata) ? object.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const [objectGroup, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const isSecret = objectGroup === '' && version === 'v1' && kind === 'Secret';
    if (objectGroup !== group && !isSecret) {
      notices.push(
        `${where}: ${kind || 'an object without kind'} ${JSON.stringify(name)} (${apiVersion || 'no apiVersion'}) is not MetalLB configuration: ignored`,
      );
      return;
    }
    if (statusKinds.has(kind)) return;
    const versions = kinds[kind];
    if (!isSecret && versions === undefined) {
      errors.push(`${where}: kind: "${kind}" is not a ${group} kind (${Object.keys(kinds).join(', ')})`);
      return;
    }
    if (!isSecret && !versions?.includes(version ?? '')) {
      errors.push(
        `${where}: apiVersion: ${kind} is served as ${versions?.map((v) => `${group}/${v}`).join(' and ')}, not "${apiVersion}"`,
      );
      return;
    }
    const label = `${kind} ${JSON.stringify(name)}`;
    if (name === '') {
      errors.push(`${where}: metadata.name: a ${kind} needs a name`);
      return;
    }
    if (name.length > 253 || !dnsSubdomain.test(name)) {
      errors.push(
        `${label}: metadata.name: "${name}" is not a valid name (lower-case letters, digits, "-" and ".")`,
      );
      return;
    }
    const objectNamespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
    if (namespace !== undefined && objectNamespace !== undefined && objectNamespace !== namespace) {
      errors.push(
        `${label}: metadata.namespace: "${objectNamespace}": Portico reads its configuration from namespace "${namespace}"`,
      );
      return;
    }
    const list = byKind.get(kind) ?? [];
    if (list.some((r) => r.name === name)) {
      errors.push(`${label}: metadata.name: defined twice`);
      return;
    }
    const labels = isMap(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
    list.push({
      apiVersion,
      kind,
      name,
      ...(objectNamespace !== undefined || namespace !== undefined
        ? { namespace: objectNamespace ?? (namespace as string) }
        : {}),
      labels,
      spec: object.spec,
      object,
    });
    byKind.set(kind, list);
  });
  for (const list of byKind.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return byKind;
}

/** Every alias of every Community resource; an alias name defined twice is an error. */
function decodeCommunities(resources: readonly Resource[], errors: string[]): Communities {
  const legacy: Record<string, number> = {};
  const large: Record<string, LargeCommunity> = {};
  const broken = new Set<string>();
  const owners = new Map<string, string>();
  for (const resource of resources) {
    const read = new FieldReader(errors, label(resource));
    const spec = read.map(resource.spec, 'spec', ['communities']);
    if (!spec) continue;
    read.list(spec.communities, 'spec.communities', (v, path) => {
      const alias = read.map(v, path, ['name', 'value']);
      if (!alias) return undefined;
      const name = read.string(alias.name, `${path}.name`) ?? '';
      const value = read.string(alias.value, `${path}.value`) ?? '';
      if (name === '') return read.fail(`${path}.name`, 'a community alias needs a name');
      const owner = owners.get(name);
      if (owner !== undefined) {
        return read.fail(`${path}.name`, `duplicate definition of community "${name}" (also in ${owner})`);
      }
      owners.set(name, label(resource));
      const parsed = parseAnyCommunity(value);
      if (parsed.kind === 'error') {
        broken.add(name);
        return read.fail(`${path}.value`, `parsing community "${name}": ${parsed.message}`);
      }
      if (parsed.kind === 'legacy') setOwn(legacy, name, parsed.value);
      else setOwn(large, name, parsed.value);
      return undefined;
    });
  }
  return { legacy, large, broken };
}

/**
 * MetalLB's validateConfig: BFD echo mode can not run on a session that carries IPv6 prefixes,
 * so an IPv6 pool may not be advertised to a peer whose BFD profile enables echo.
 */
function checkBfdEcho(
  pools: readonly AddressPool[],
  peers: readonly Peer[],
  profiles: readonly BfdProfile[],
  errors: string[],
): void {
  const echo = new Set(profiles.filter((p) => p.echoMode).map((p) => p.name));
  for (const pool of pools) {
    if (!pool.addresses.some((e) => e.cidrs.some((c) => c.family === 'IPv6'))) continue;
    for (const ad of pool.bgpAdvertisements) {
      for (const peer of peers) {
        if (ad.peers.length > 0 && !ad.peers.includes(peer.name ?? '')) continue;
        if (peer.bfdProfile === undefined || !echo.has(peer.bfdProfile)) continue;
        errors.push(
          `BGPAdvertisement "${ad.name ?? ''}": IPAddressPool "${pool.name}" has IPv6 addresses and goes to BGPPeer "${peer.name ?? ''}", whose BFD profile "${peer.bfdProfile}" enables echo mode, which is not possible`,
        );
      }
    }
  }
}

/**
 * The objects of a multi-document YAML (or JSON) text; a document that does not parse is an
 * error naming its place. Empty documents are skipped.
 */
export function parseResourceDocuments(
  text: string,
  source = 'input',
): { objects: Json[]; errors: string[] } {
  const objects: Json[] = [];
  const errors: string[] = [];
  parseAllDocuments(text, { uniqueKeys: true }).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      errors.push(
        `${source}: document ${i + 1}: ${(doc.errors[0]?.message ?? 'invalid YAML').split('\n')[0]}`,
      );
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isMap(value)) {
      errors.push(`${source}: document ${i + 1}: expected a Kubernetes object (a map), got ${show(value)}`);
      return;
    }
    objects.push(value);
  });
  return { objects, errors };
}
