/**
 * Which advertisements of a pool apply, as MetalLB decides it: an advertisement applies to a
 * Service when one of its `serviceSelectors` matches the Service's labels (none: every Service),
 * and to a node when one of its `nodeSelectors` matches the node's labels (none: every node).
 * A pool is announced from a node only through the advertisements that select both.
 *
 * Node matches are remembered per advertisement object and Node object (both are replaced, never
 * changed, when the configuration or the Node changes), so a decision over 10,000 Services does
 * not match selectors 10,000 times per node.
 */
import type { V1Node } from '@kubernetes/client-node';
import {
  type BgpAdvertisement,
  type L2Advertisement,
  type LabelSelector,
  nodeSelectorMatches,
  nodeSelectorsMatch,
} from '@portico/config';

type Advertisement = L2Advertisement | BgpAdvertisement;

const noLabels: Readonly<Record<string, string>> = {};
const nodeMatches = new WeakMap<Advertisement, WeakMap<V1Node, boolean>>();
const preferenceScores = new WeakMap<L2Advertisement, WeakMap<V1Node, number>>();

/** The advertisement selects the node (its nodeSelectors match the node's labels). */
export function selectsNode(ad: Advertisement, node: V1Node | undefined): boolean {
  if (ad.nodeSelectors.length === 0) return true;
  if (!node) return false;
  let byNode = nodeMatches.get(ad);
  if (!byNode) nodeMatches.set(ad, (byNode = new WeakMap()));
  let match = byNode.get(node);
  if (match === undefined) {
    match = nodeSelectorsMatch(ad.nodeSelectors, node.metadata?.labels ?? noLabels);
    byNode.set(node, match);
  }
  return match;
}

/** The advertisement applies to a Service with these labels. */
export function selectsService(
  ad: { readonly serviceSelectors: readonly LabelSelector[] },
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return nodeSelectorsMatch(ad.serviceSelectors, labels ?? noLabels);
}

/** The advertisements of a list that apply to a Service (the list itself when all do). */
export function forService<T extends Advertisement>(
  ads: readonly T[],
  labels: Readonly<Record<string, string>> | undefined,
): readonly T[] {
  if (ads.every((ad) => ad.serviceSelectors.length === 0)) return ads;
  return ads.filter((ad) => selectsService(ad, labels));
}

/**
 * MetalLB's preference score of a node for layer-2 election: the weights of the advertisements'
 * `preferredNodeSelectors` that match it, added up over the advertisements that select the node.
 */
export function preferenceScore(ads: readonly L2Advertisement[], node: V1Node | undefined): number {
  if (!node) return 0;
  let total = 0;
  for (const ad of ads) {
    if (ad.preferredNodeSelectors.length === 0 || !selectsNode(ad, node)) continue;
    let byNode = preferenceScores.get(ad);
    if (!byNode) preferenceScores.set(ad, (byNode = new WeakMap()));
    let score = byNode.get(node);
    if (score === undefined) {
      const labels = node.metadata?.labels ?? noLabels;
      score = 0;
      for (const p of ad.preferredNodeSelectors)
        if (nodeSelectorMatches(p.preference, labels)) score += p.weight;
      byNode.set(node, score);
    }
    total += score;
  }
  return total;
}

/** Some advertisement has preferences (else the election is by hash alone). */
export function hasPreferences(ads: readonly L2Advertisement[]): boolean {
  return ads.some((ad) => ad.preferredNodeSelectors.length > 0);
}

/**
 * The interfaces this node answers on for an IP, from the advertisements that select it:
 * undefined means every interface (some advertisement lists none, as MetalLB reads it),
 * otherwise the union of their lists, sorted.
 */
export function interfacesOf(ads: readonly L2Advertisement[]): string[] | undefined {
  const names = new Set<string>();
  for (const ad of ads) {
    if (ad.interfaces.length === 0) return undefined;
    for (const name of ad.interfaces) names.add(name);
  }
  return [...names].sort();
}
